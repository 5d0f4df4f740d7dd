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
  type LoadedConfig,
  type Profile,
} from './config.js';
export { chooseProfile, PROFILES, SECURITY_ENV_VARS, SECURITY_FIELDS, securitySettings, type ProfileChoice } from './profile.js';
export { attachAccessLog, LOGGED_QUERY_PARAMS, loggedPath, type AccessLine, type AccessLogOptions } from './access-log.js';
export { EXIT_FAILED, EXIT_SHUTDOWN_TIMEOUT, EXIT_STOPPED } from './shutdown.js';
export { PRODUCTION_DEFAULTS, REQUEST_LIMIT_DEFAULTS, requestLimitsFor, startHub, type RunningHub } from './start.js';
export { loadAdminPage } from './admin-page.js';
export {
  landingPageOptions,
  loadClientBundle,
  loadClientBundles,
  loadLandingPage,
  type ClientBundleFile,
  type LandingPageOptions,
} from './landing-page.js';
