export { createApp, DESTINATION_HEADER } from './app.js';
export type { AppDeps } from './app.js';
export {
  DEFAULT_MODEL_SETTINGS,
  loadRouterConfig,
  parseRouterConfig,
  ROUTER_USAGE,
  routerSettings,
} from './config.js';
export type { ModelSettings, RouterFileConfig, RouterSettings } from './config.js';
export { errorBody, RouteError } from './errors.js';
export { Gateway } from './gateway.js';
export { routerMain, routerServiceOptions } from './main.js';
export { RemoteIndex } from './remote-index.js';
export { parseRouteRequest } from './request-body.js';
export type { RouteRequest } from './request-body.js';
export { Router } from './router.js';
export type { RouteResult, RouterDeps, RouterOptions } from './router.js';
export { createRouterService, loadTokenizers } from './service.js';
export type { LoadedTokenizers, RouterService, RouterServiceOptions } from './service.js';
