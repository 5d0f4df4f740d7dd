export { main } from './cli.js';
export { startHub, type RunningHub } from './start.js';
export { DEFAULT_HOST, DEFAULT_PORT, type StartOptions } from './start-options.js';
