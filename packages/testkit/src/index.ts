export { runEngineContract, type EngineFactory } from './engine-contract.js';
export { runBatchPublishContract, type BatchHubStarter } from './batch-publish-contract.js';
export { SseTestClient, type SseEvent } from './sse-client.js';
export { startNginx, type NginxOptions, type TestNginx } from './nginx.js';
export { poll, publishHttp, startTestHub, type TestHub } from './test-hub.js';
export { Collector } from './waiter.js';
export { eventually, type EventuallyOptions } from './eventually.js';
export { ManualClock } from './manual-clock.js';
export { WS_FORMATS, WsTestClient, type RawFrame, type WsFormat } from './ws-client.js';
export { CompactExpander } from './compact-expander.js';
export { freePort } from './free-port.js';
export { startHeraldNode, type HeraldNode, type HeraldNodeOptions } from './herald-node.js';
export { startRedisServer, type RedisServerOptions, type TestRedisServer } from './redis-server.js';
export { startHookApp, type HookApp, type HookAppAnswer, type HookAppHandler, type HookAppRequest } from './hook-app.js';
export { RecordingSink } from './recording-sink.js';
export { runAckStoreContract, type AckStoreFactoryOptions } from './ack-store-contract.js';
export { runPresenceCountingContract } from './presence-counting-contract.js';
export { runPresenceHoldContract, type PresenceHoldStoreOptions } from './presence-hold-contract.js';
export { checkPollPresenceAcrossNodes, type PollPresenceClusterOptions } from './poll-presence-cluster.js';
export { runWebhookQueueContract, webhookEvent, type WebhookQueueFactory } from './webhook-queue-contract.js';
export { startWebhookApp, type WebhookApp, type WebhookAppAnswer, type WebhookDelivery } from './webhook-app.js';
export { startChildHub, type ChildHub } from './child-hub.js';
export { startCluster, type Cluster, type ClusterOptions } from './cluster.js';
export {
  runClusterSuite,
  type ClusterEngine,
  type ClusterSuiteCases,
  type ClusterSuiteOptions,
  type ClusterSuiteTimeouts,
} from './cluster-suite.js';
export { getMessages, publishPaced, publishTo, type PacedOptions } from './cluster-api.js';
export { acksProblems, ledgerProblems, type Ack } from './ledger.js';
export { startProbe, type SdkProbe } from './sdk-probe.js';
export { uniqueChannel } from './unique-channel.js';
export {
  redisCli,
  startRedisCluster,
  type RedisClusterOptions,
  type RedisNodeProcess,
  type TestRedisCluster,
} from './redis-cluster-server.js';
export { startRedisSentinel, type RedisSentinelOptions, type TestRedisSentinel } from './redis-sentinel-server.js';
export { startNatsCluster, startNatsServer, type NatsClusterOptions, type TestNatsCluster } from './nats-server.js';
export { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './tcp-proxy.js';
