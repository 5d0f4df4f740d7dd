export { main } from './cli.js';
export { configSchema, ConfigError, CONFIG_ENV_VARS, loadConfig, type ConfigSources, type HeraldConfig, type Profile } from './config.js';
export { PRODUCTION_DEFAULTS, startHub, type RunningHub } from './start.js';
