export { main } from './cli.js';
export {
  configSchema,
  ConfigError,
  CONFIG_ENV_VARS,
  loadConfig,
  SHUTDOWN_TIMEOUT_MARGIN,
  shutdownTimeoutOf,
  type ConfigSources,
  type HeraldConfig,
  type Profile,
} from './config.js';
export { EXIT_FAILED, EXIT_SHUTDOWN_TIMEOUT, EXIT_STOPPED } from './shutdown.js';
export { PRODUCTION_DEFAULTS, REQUEST_LIMIT_DEFAULTS, requestLimitsFor, startHub, type RunningHub } from './start.js';
export { landingPageOptions, loadClientBundle, loadLandingPage, type LandingPageOptions } from './landing-page.js';
