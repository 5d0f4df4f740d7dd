export type {
  Demo,
  DemoAnswer,
  DemoBackend,
  DemoPublisher,
  DemoPublishResult,
  DemoRequest,
  DemoRoute,
  DemoSimulator,
  DemoTransport,
} from './demo.js';
export { createDemoHost, DEMO_PATH, type DemoHost, type DemoHostOptions } from './demo-host.js';
export { DEMOS } from './registry.js';
export { MAX_DEMO_BODY_BYTES } from './json-body.js';
