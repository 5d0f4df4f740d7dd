export { natsCredentials, natsServers, redactNatsUrl, type NatsConnectionOptions, type NatsCredentials } from './connection.js';
export { NatsBroker, type NatsBrokerOptions } from './nats-broker.js';
export { NatsLogError } from './channel-log.js';
export { NatsPresenceStore, type NatsPresenceOptions } from './nats-presence-store.js';
export { NatsTicketStore, type NatsTicketOptions } from './nats-ticket-store.js';
export { NatsAckStore, type NatsAckOptions } from './nats-ack-store.js';
