export { runEngineContract, type EngineFactory } from './engine-contract.js';
export { SseTestClient, type SseEvent } from './sse-client.js';
export { startNginx, type NginxOptions, type TestNginx } from './nginx.js';
export { poll, publishHttp, startTestHub, type TestHub } from './test-hub.js';
export { Collector } from './waiter.js';
export { WsTestClient } from './ws-client.js';
export { freePort } from './free-port.js';
export { startHeraldNode, type HeraldNode, type HeraldNodeOptions } from './herald-node.js';
export { startRedisServer, type RedisServerOptions, type TestRedisServer } from './redis-server.js';
