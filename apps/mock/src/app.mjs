// The mock's request path. Everything before the answer is the server's own edge
// (@patchbay/openapi-http): the same JSON parsing, the same express-openapi-validator
// configuration, the same problem documents. So the same bad request gets the same status
// and the same problem from the mock as from the server. Only a valid request reaches
// Prism, which answers from the spec's examples (or generated data), steered by `Prefer`.
//
//   CORS -> request id -> the bundles (/openapi/{api}.json) -> DELETE /_mock/state -> JSON body
//        -> OpenAPI validation (any non-empty X-Api-Key passes) -> the engine (the stateful store,
//        or the example about the id in the path; core/engine.mjs) -> Prism (Prefer: code=,
//        example=, dynamic=, and everything the engine leaves) -> problems
import { createRequire } from 'node:module';
import express from 'express';
import { createInstance } from '@stoplight/prism-http';
// Prism's own reading of `Prefer`, so the mock honours exactly what Prism documents. (Its
// __code/__example query fallbacks never get here: the validators refuse unknown parameters,
// as the server does.) The package has no exports map; the version is pinned.
import { getHttpConfigFromRequest } from '@stoplight/prism-http-server/dist/getHttpConfigFromRequest.js';
import { assignRequestId, cors, createValidators, jsonBody, notFound, problemResponder, validationProblem } from '@patchbay/openapi-http';
import { apiKeyOf, createEngine, withoutStateful } from './core/engine.mjs';

// Dynamic answers come from json-schema-faker, which ignores `propertyNames` and
// `maxProperties`: left to itself it fills maps (metadata, sync_config) with random keys the
// schema forbids. Without filling, such a map is generated empty, which the schema allows.
// This is the instance Prism itself uses (resolved from prism-http), configured once.
const { JSONSchemaFaker } = createRequire(import.meta.resolve('@stoplight/prism-http'))('json-schema-faker');
// The spec bounds every array and string (OWASP, decision 0023) generously (a list's data up to
// 1000 items, a problem's detail up to 16384 characters), and json-schema-faker draws lengths
// up to those bounds: cap them, so a generated answer stays the size of an example.
JSONSchemaFaker.option({ fillProperties: false, maxItems: 5, maxLength: 256 });

/** `?a=1&a=2&b=3` -> `{ a: ['1', '2'], b: '3' }`, the shape Prism expects. */
function queryOf(originalUrl) {
  const params = new URL(originalUrl, 'http://mock.invalid').searchParams;
  const query = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  return query;
}

/** Prism's answer to a request the validators accepted. */
function prismResponder(prism, operations, baseConfig) {
  return async (req, res, next) => {
    const input = {
      method: req.method.toLowerCase(),
      url: { path: req.path, query: queryOf(req.originalUrl) },
      // `stateful=` is this mock's own preference; Prism would refuse it.
      headers: req.headers.prefer === undefined ? req.headers : { ...req.headers, prefer: withoutStateful(req.headers.prefer) },
      body: req.body,
    };
    const preferences = getHttpConfigFromRequest(input);
    if (preferences._tag === 'Left') return next(preferProblem(preferences.left));
    const config = { ...baseConfig, mock: { ...baseConfig.mock, ...withoutUndefined(preferences.right) } };
    let result;
    try {
      result = await prism.request(input, operations, config)();
    } catch (error) {
      return next(error);
    }
    if (result._tag === 'Left') return next(preferProblem(result.left));
    const { statusCode, headers = {}, body } = result.right.output;
    // The spec declares Access-Control-Allow-Origin (sent when CORS allows the origin): Prism would
    // answer its example; the CORS middleware has already set the real one.
    for (const [name, value] of Object.entries(headers)) if (!/^access-control-/i.test(name)) res.setHeader(name, value);
    const contentType = String(res.getHeader('content-type') ?? '');
    if (body === undefined || body === null || statusCode === 204) {
      res.status(statusCode).end();
    } else if (typeof body === 'string' && !/json/.test(contentType)) {
      res.status(statusCode).send(body);
    } else {
      // A problem example names some request's id; the truth is this request's.
      const answer = /problem\+json/.test(contentType) && typeof body === 'object' ? { ...body, request_id: req.id, instance: req.path } : body;
      res.status(statusCode).send(JSON.stringify(answer));
    }
  };
}

const withoutUndefined = (object) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));

/** Prism could not honour the request's `Prefer` (an undocumented code, an unknown example):
 * a 400 that names the header and says what Prism said. */
function preferProblem(error) {
  const message = [error.title, error.detail].filter(Boolean).join(': ') || 'cannot be honoured';
  return validationProblem([{ pointer: '/header/prefer', message }]);
}

/** The engine's answer (the stateful store, or the example about the id in the path), when it
 * has one; otherwise Prism's. */
function engineResponder(engine, specOperations) {
  return (req, res, next) => {
    const operation = specOperations.get(req.openapi?.schema?.operationId);
    if (!operation) return next();
    const answer = engine.answer({ operation, params: req.openapi.pathParams ?? req.params ?? {}, query: req.query, headers: req.headers, body: req.body, requestId: req.id, path: req.path });
    if (!answer) return next();
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    if (answer.body === undefined) return res.status(answer.status).end();
    res.status(answer.status).type(answer.contentType).send(JSON.stringify(answer.body));
  };
}

/**
 * The mock application (never listens; main.mjs does).
 * @param {{ apis: import('@patchbay/openapi-http').LoadedApi[], operations: unknown[], specOperations: import('@patchbay/api-types/operations').SpecOperation[], providers: object[], stateful: boolean, limits?: { keys?: number, connectionsPerKey?: number }, dynamic: boolean, seed: string, logger: { error: Function, warn: Function, info: Function } }} options
 */
export function createMockApp({ apis, operations, specOperations, providers, stateful, limits, dynamic, seed, logger }) {
  const engine = createEngine({ operations: specOperations, providers, stateful, limits, dynamic });
  const baseConfig = {
    mock: { dynamic, seed, ignoreExamples: false },
    // The validators in front already checked the request, as the server does.
    validateRequest: false,
    validateResponse: false,
    checkSecurity: false,
    errors: false,
    upstreamProxy: undefined,
    isProxy: false,
  };
  const prism = createInstance(baseConfig, { logger });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'extended');
  app.use(cors({ origins: '*' })); // the mock is for frontends on any port
  app.use((req, res, next) => {
    assignRequestId(req, res);
    next();
  });
  // The bundles it answers from, at the server's URLs: a frontend (or the spec-loop bench)
  // can see which version of the spec the mock is serving.
  const bundles = new Map(apis.map((api) => [`${api.name}.json`, JSON.stringify(api.document)]));
  app.get('/openapi/:file', (req, res, next) => {
    const bundle = bundles.get(req.params.file);
    if (bundle === undefined) return next();
    res.type('application/json').setHeader('Cache-Control', 'no-cache').send(bundle);
  });
  // Forgets what this key changed in the stateful store (not in the spec: the mock's own).
  app.delete('/_mock/state', (req, res) => {
    const key = apiKeyOf(req.headers);
    if (key) engine.store.reset(key);
    res.status(204).end();
  });
  app.use(jsonBody());
  // The mock has no tenants: any non-empty key is a key, with every scope.
  app.use(createValidators(apis, (req) => Boolean(req.get('x-api-key')) || /^(basic|bearer)\s+\S/i.test(req.get('authorization') ?? ''), { validateResponses: false }));
  app.use(engineResponder(engine, new Map(specOperations.map((o) => [o.operationId, o]))));
  app.use(prismResponder(prism, operations, baseConfig));
  app.use(notFound);
  app.use(problemResponder((err, req) => logger.error({ request_id: req.id, err }, 'unexpected error')));
  return app;
}
