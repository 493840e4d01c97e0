/**
 * createApp builds the Express application and never listens (main.ts does). The request
 * path: security headers -> CORS (when configured) -> request id and log line -> docs and
 * bundles -> JSON body -> authentication -> rate limits -> the validator of the API that owns
 * the path (route, shape, auth) -> the handler of its operationId -> problems.
 */
import express, { type Express } from 'express';
import type { ApiName, OpenApiDocument } from '@patchbay/api-types/documents';
import { cors, createValidators, jsonBody, loadApis, notFound, problemResponder, type WarmUpReport } from '@patchbay/openapi-http';
import type { Config } from './platform/config.js';
import type { Logger } from './platform/logger.js';
import { authenticate, principalFound } from './http/auth.js';
import { assertHandlersMatchSpec, dispatch, operationTraits, publicPathsOf } from './http/dispatch.js';
import { docsRouter } from './http/docs.js';
import { connectPage } from './modules/connect-sessions/handlers/page.js';
import type { Handlers } from './http/handler.js';
import { rateLimiting } from './http/rate-limits.js';
import { requestContext } from './http/request-id.js';
import { securityHeaders } from './http/security-headers.js';
import { handlers as defaultHandlers } from './handlers.js';
import type { Services } from './runtime.js';

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** The long-lived collaborators (see createRuntime in runtime.ts). */
  services: Services;
  /** Replace the handler map (tests of the spec/handler check). */
  handlers?: Handlers;
  /** Replace bundled documents (tests of the spec flow). */
  documents?: Partial<Record<ApiName, OpenApiDocument>>;
}

const warmers = new WeakMap<Express, () => Promise<WarmUpReport[]>>();

/**
 * Compiles every operation's request and response validators of an app made by createApp
 * (express-openapi-validator would otherwise build them on each operation's first request):
 * main.ts awaits it before listening, so /readyz never answers before the server can answer
 * every operation at full speed. Throws when an operation could not be warmed up.
 */
export async function warmUp(app: Express): Promise<WarmUpReport[]> {
  const reports = await warmers.get(app)!();
  const missed = reports.flatMap((r) => r.missed);
  if (missed.length) throw new Error(`could not compile the validators of ${missed.join(', ')}`);
  return reports;
}

export function createApp(options: AppOptions): Express {
  const { config, logger } = options;
  const handlers = options.handlers ?? defaultHandlers;
  const apis = loadApis(options.documents);
  assertHandlersMatchSpec(apis, handlers);

  const { services } = options;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'extended');
  // req.ip is the client address the failed-authentication limit counts by: behind a proxy,
  // X-Forwarded-For, from the proxies PATCHBAY_TRUST_PROXY names only.
  app.set('trust proxy', config.trustProxy);
  app.use(securityHeaders({ publicUrl: config.publicUrl }));
  app.use(cors({ origins: config.corsOrigins }));
  app.use(requestContext(logger));
  app.use(docsRouter(apis));
  // The hosted connect page (issue 14): HTML for a browser, outside the APIs; its token is its credential.
  app.use(connectPage(services.connectSessions));
  app.use(jsonBody());
  // After authentication (it counts per key, per tenant, and failed authentications per
  // address), before the validators (an invalid request counts too); never the public probes.
  // An API key's lookup takes its counts in the same statement (decision 0028).
  const limits = rateLimiting({ counter: services.rateLimits, publicPaths: publicPathsOf(apis) });
  app.use(
    authenticate({
      adminKey: config.adminKey,
      tenants: services.tenants,
      tokens: config.tokens,
      rateLimits: limits,
      // Every use of the setting-up key is noted, so an operator can see it is still in use.
      onBootstrapKeyUse: async (req) => {
        req.log.warn({ method: req.method, path: req.path }, 'bootstrap key (PATCHBAY_ADMIN_KEY) used');
        await services.audit.recordBootstrapUse(req.serverRequestId, req.clientRequestId ?? null, req.method, req.path, req.get('x-tenant-id'));
      },
    }),
  );
  app.use(limits.middleware);
  const validators = createValidators(apis, principalFound, {
    validateResponses: true,
    // Should not happen for what the spec declares (warmUp compiled it): a sign of a media type
    // or route the warm-up does not cover, which the request paid for.
    onCompiledOnRequest: (key) => logger.debug({ validator: key }, 'validator compiled on a request'),
  });
  warmers.set(app, () => validators.warmUp(app));
  app.use(validators);
  app.use(dispatch(handlers, services, operationTraits(apis)));
  app.use(notFound);
  // Response-validation failures carry the failing member's path, never its value.
  app.use(problemResponder((err, req) => req.log.error({ err }, 'unexpected error')));
  return app;
}
