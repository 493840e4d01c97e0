/**
 * express-openapi-validator, one instance per API declared in redocly.yaml, built once.
 * It checks requests (shape, formats, content types, the API key header) and responses
 * against the bundled documents, and finds the operation; the dispatcher then routes on
 * its operationId. Its errors are turned into problems by `toProblem`.
 */
import * as OpenApiValidator from 'express-openapi-validator';
import eovMiddlewares from 'express-openapi-validator/dist/middlewares/index.js';
import eovSchemaValidator from 'express-openapi-validator/dist/framework/openapi.schema.validator.js';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { apiNames, loadDocument, type ApiName, type OpenApiDocument } from '@patchbay/api-types/documents';
import { HttpProblem, validationProblem, type FieldError } from './problem.js';

// EOV 5.6.2 compiles the whole OpenAPI 3.1 meta-schema for every document even with
// `validateApiSpec: false`, only to never use it (about 150 ms of each start, per API). With
// that option (the only one createValidators passes) nothing is compiled; the bundles are
// checked against the meta-schema where they are built (`pnpm --filter @patchbay/specs lint`).
{
  const module = eovSchemaValidator as unknown as { OpenAPISchemaValidator: new (opts: { validateApiSpec?: boolean }) => unknown };
  const Original = module.OpenAPISchemaValidator;
  module.OpenAPISchemaValidator = function OpenAPISchemaValidator(opts: { validateApiSpec?: boolean }) {
    return opts.validateApiSpec ? new Original(opts) : { validate: () => ({ errors: [] }) };
  } as unknown as typeof Original;
}

export interface LoadedApi {
  name: ApiName;
  document: OpenApiDocument;
  /** The first path segment every path of this API shares (`/admin/`), if any. */
  prefix: string | undefined;
}

/** Loads every API's bundle and works out which requests belong to which API. */
export function loadApis(documents: Partial<Record<ApiName, OpenApiDocument>> = {}): LoadedApi[] {
  return apiNames.map((name) => {
    const document = documents[name] ?? loadDocument(name);
    const firstSegments = new Set(Object.keys(document.paths ?? {}).map((p) => p.split('/')[1]));
    const only = firstSegments.size === 1 ? [...firstSegments][0] : undefined;
    return { name, document, prefix: only ? `/${only}/` : undefined };
  });
}

export type Authenticate = (req: Request) => boolean | Promise<boolean>;

const securitySchemesOf = (document: OpenApiDocument): Record<string, unknown> =>
  ((document as { components?: { securitySchemes?: Record<string, unknown> } }).components?.securitySchemes ?? {});

export interface ValidatorOptions {
  /** Check every response against the spec (the server: yes; the mock serves the spec's own examples). */
  validateResponses: boolean;
  /** Told of every validator compiled after warmUp finished, i.e. on a request (its EOV cache
   * key: method, route, media type, and for a response the status): the server logs it at debug. */
  onCompiledOnRequest?: (key: string) => void;
}

/**
 * What express-openapi-validator is given: the document without its annotations (`example`,
 * `examples`, `description`, `summary`, `externalDocs`), which no check reads. EOV puts the
 * whole `paths` and `components` beside every schema it compiles, and Ajv walks all of it
 * each time: the examples alone were more than half of the connections bundle. Names inside
 * name maps (`properties`, `paths`, `responses`, ...) are kept, so a member called
 * `description` stays; data (`enum`, `const`, `default`, `x-*`) is copied as is. A fresh copy:
 * EOV mutates the document it is given.
 */
export function withoutAnnotations(node: unknown, parentKey?: string): unknown {
  if (Array.isArray(node)) return node.map((item) => withoutAnnotations(item));
  if (node === null || typeof node !== 'object') return node;
  const nameMap = NAME_MAPS.has(parentKey ?? '');
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!nameMap && ANNOTATIONS.has(key)) continue;
    copy[key] = !nameMap && (DATA.has(key) || key.startsWith('x-')) ? structuredClone(value) : withoutAnnotations(value, nameMap ? undefined : key);
  }
  return copy;
}
const ANNOTATIONS = new Set(['example', 'examples', 'description', 'summary', 'externalDocs']);
const DATA = new Set(['enum', 'const', 'default']);
/** Objects whose keys are names (of members, paths, statuses, media types, components), not keywords. */
const NAME_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependentRequired', 'paths', 'webhooks', 'responses', 'headers', 'content', 'encoding', 'callbacks', 'links', 'variables', 'mapping', 'schemas', 'parameters', 'requestBodies', 'securitySchemes', 'pathItems']);

/** What warming one API's validators up did (see `ValidatorChain.warmUp`). */
export interface WarmUpReport {
  api: ApiName;
  /** The operations of the document. */
  operations: number;
  /** Operations whose request and response validators were compiled, for every media type
   * the operation's request body declares (or none when it has no body). */
  warmed: number;
  /** `METHOD path` of any operation the warm-up could not compile (a bug: start-up fails). */
  missed: string[];
}

export type ValidatorChain = RequestHandler[] & {
  /** Compiles every operation's request and response validators now, so that no request
   * pays for it (EOV builds them lazily, on the first request of each operation and media
   * type). Resolves once the documents are parsed and every validator exists. */
  warmUp: (settings?: { enabled: (setting: string) => boolean }) => Promise<WarmUpReport[]>;
};

/**
 * The validator middlewares. An API whose paths share one first segment owns the requests
 * under it; the first API in redocly.yaml owns the rest, so an unknown path gets its 404.
 * Each validator runs only for its own paths: two instances in one chain would read each
 * other's `req.openapi` and fail.
 */
export function createValidators(apis: LoadedApi[], authenticate: Authenticate, options: ValidatorOptions): ValidatorChain {
  const prefixes = apis.map((a) => a.prefix).filter((p): p is string => p !== undefined);
  const warmers: ((settings?: { enabled: (setting: string) => boolean }) => Promise<WarmUpReport>)[] = [];
  const state: CompileState = { warm: false, onCompiledOnRequest: options.onCompiledOnRequest };
  const handlers = apis.map((api, index) => {
    const ownsPath =
      api.prefix !== undefined
        ? (path: string) => path.startsWith(api.prefix!)
        : index === apis.findIndex((a) => a.prefix === undefined)
          ? (path: string) => !prefixes.some((p) => path.startsWith(p))
          : () => false;
    const router = Router();
    const eov = OpenApiValidator.middleware({
      apiSpec: withoutAnnotations(api.document) as never,
      validateApiSpec: false,
      validateRequests: { allErrors: true, allowUnknownQueryParameters: false },
      validateResponses: options.validateResponses ? { allErrors: true } : false,
      validateFormats: true,
      // No operation takes multipart/form-data: without the uploader, such a body is a 415 from
      // the request validator, as before, never parsed by multer (and one Ajv fewer at start).
      fileUploader: false,
      // One answer for every scheme the document declares (X-Api-Key, Basic, ...): the caller
      // decides who is calling once; the dispatcher then checks the operation's scopes.
      validateSecurity: { handlers: Object.fromEntries(Object.keys(securitySchemesOf(api.document)).map((name) => [name, (req: Request) => authenticate(req)])) },
    }) as RequestHandler[];
    compileOnce((OpenApiValidator.middleware as unknown as { _oav: Oav })._oav, state);
    router.use(eov);
    warmers.push((settings) => warmUpApi(api, eov, options.validateResponses, settings));
    return (req: Request, res: Response, next: NextFunction) => (ownsPath(req.path) ? router(req, res, next) : next());
  });
  const warmUp = async (settings?: { enabled: (setting: string) => boolean }) => {
    const reports = await Promise.all(warmers.map((warm) => warm(settings)));
    state.warm = true;
    return reports;
  };
  return Object.assign(handlers, { warmUp });
}

/** The part of EOV's OpenApiValidator (5.6.2) that builds the request and response validators. */
interface Oav {
  ajvOpts: { request: unknown; response: unknown };
  options: { validateResponses: unknown };
  requestValidationMiddleware: (apiDoc: unknown) => RequestHandler;
  responseValidationMiddleware: (apiDoc: unknown, serial: number) => RequestHandler;
}
type AjvLike = { addSchema: (schema: unknown, key?: string) => unknown; getSchema: (key: string) => unknown; opts: { inlineRefs?: boolean | number } };

/**
 * EOV builds its validators as its own OpenApiValidator does (the same classes, options and
 * order), except that their Ajv instances compile each distinct schema once; see shareDocument.
 */
interface CompileState {
  /** Whether warmUp has finished: a validator compiled after that was compiled on a request. */
  warm: boolean;
  onCompiledOnRequest?: (key: string) => void;
}

function compileOnce(oav: Oav, state: CompileState): void {
  oav.requestValidationMiddleware = (apiDoc) => {
    const validator = new eovMiddlewares.RequestValidator(apiDoc as never, oav.ajvOpts.request as never);
    const ajvs = validator as unknown as { ajv: AjvLike; ajvBody: AjvLike };
    shareDocument(ajvs.ajv, state);
    shareDocument(ajvs.ajvBody, state);
    return (req, res, next) => validator.validate(req, res, next);
  };
  oav.responseValidationMiddleware = (apiDoc, serial) => {
    const validator = new eovMiddlewares.ResponseValidator(apiDoc as never, oav.ajvOpts.response as never, oav.options.validateResponses as never, serial);
    shareDocument((validator as unknown as { ajvBody: AjvLike }).ajvBody, state);
    return validator.validate() as RequestHandler;
  };
}

const SHARED = 'patchbay:document';

/**
 * EOV gives Ajv one schema per operation, status and media type (`useAjvCache`), each holding
 * the whole document's `paths` and `components` so that its `#/components/...` references
 * resolve: Ajv walks the whole document for every one of them and compiles every referenced
 * component again for each, about 40 ms a schema, 17 s for our 41 operations. Here the
 * document's components are added to the Ajv instance once, under their own key; each schema
 * EOV adds is given without them, its `#/components/...` references pointing there; and a
 * schema equal to one already compiled (the problem responses every operation shares) reuses
 * that validator. What is checked is the same schema against the same components. A schema
 * with any other local reference, or from another document, is added as EOV gives it.
 */
function shareDocument(ajv: AjvLike, state: CompileState): void {
  // A referenced component becomes one function that every validator calls, rather than code
  // generated again inside each validator that refers to it.
  ajv.opts.inlineRefs = false;
  const addSchema = ajv.addSchema.bind(ajv);
  const getSchema = ajv.getSchema.bind(ajv);
  const sameAs = new Map<string, string>();
  const byContent = new Map<string, string>();
  let components: unknown;
  ajv.addSchema = (schema, key) => {
    const wrapper = schema as { components?: unknown; paths?: unknown } | undefined;
    if (typeof key !== 'string' || typeof wrapper !== 'object' || wrapper === null || wrapper.components === undefined) return addSchema(schema, key);
    if (state.warm) state.onCompiledOnRequest?.(key);
    const { components: ofSchema, paths: _paths, ...own } = wrapper;
    components ??= (addSchema({ components: ofSchema }, SHARED), ofSchema);
    const rebased = ofSchema === components ? rebase(own) : undefined;
    if (rebased === undefined) return addSchema(schema, key);
    const content = JSON.stringify(rebased);
    const first = byContent.get(content);
    if (first !== undefined) {
      sameAs.set(key, first);
      return ajv;
    }
    byContent.set(content, key);
    return addSchema(rebased, key);
  };
  ajv.getSchema = (key) => getSchema(sameAs.get(key) ?? key);
}

/** A copy whose `#/components/...` references point into the shared document; undefined if
 * another local reference needs the original root. Values that are not plain data (EOV's
 * serializers) are kept as they are. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) {
    const items = node.map(rebase);
    return items.includes(undefined) ? undefined : items;
  }
  if (node === null || typeof node !== 'object' || Object.getPrototypeOf(node) !== Object.prototype) return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#')) {
      if (!value.startsWith('#/components/')) return undefined;
      copy[key] = `${SHARED}${value}`;
    } else {
      const rebased = rebase(value);
      if (rebased === undefined && value !== undefined) return undefined;
      copy[key] = rebased;
    }
  }
  return copy;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Runs one synthetic request per operation and request media type through EOV's own
 * middlewares, in process, before the server listens: the route lookup, the request validator
 * and (when responses are validated) the response validator, which is what compiles them and
 * keeps them in EOV's caches under the key a real request uses (method, route, media type).
 * The security middleware is not run (the synthetic request has no caller and is never
 * authenticated), nor anything after EOV: no handler, no database, nothing answered.
 */
async function warmUpApi(api: LoadedApi, eov: RequestHandler[], validateResponses: boolean, settings?: { enabled: (setting: string) => boolean }): Promise<WarmUpReport> {
  const named = (name: string) => eov.find((m) => m.name === name);
  const metadata = named('metadataMiddleware');
  const multipart = named('multipartMiddleware');
  const request = named('requestMiddleware');
  const response = validateResponses ? named('responseMiddleware') : undefined;
  if (!metadata || !request || (validateResponses && !response)) throw new Error('express-openapi-validator changed: its middlewares are not the ones warmUp knows');
  const document = api.document as { paths?: Record<string, Record<string, unknown>>; components?: { requestBodies?: Record<string, unknown> } };
  const report: WarmUpReport = { api: api.name, operations: 0, warmed: 0, missed: [] };
  const app = { enabled: (setting: string) => settings?.enabled(setting) ?? false };
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS.filter((m) => item[m] !== undefined)) {
      report.operations += 1;
      const operation = item[method] as { requestBody?: { $ref?: string; content?: Record<string, unknown> }; responses?: Record<string, unknown> };
      let body = operation.requestBody;
      if (body?.$ref) body = document.components?.requestBodies?.[body.$ref.split('/').pop()!] as typeof body;
      const mediaTypes: (string | undefined)[] = body?.content ? Object.keys(body.content) : [undefined];
      const status = Number(Object.keys(operation.responses ?? {}).find((s) => /^[1-4]\d\d$/.test(s)) ?? 200);
      let ok = true;
      for (const mediaType of mediaTypes) {
        // The path template itself is the URL: each `{name}` matches its segment, and no static
        // path has a segment in braces.
        const req = { method: method.toUpperCase(), path, url: path, originalUrl: path, baseUrl: '', headers: mediaType ? { 'content-type': mediaType } : {}, query: {}, params: {}, body: undefined, app } as unknown as Request & { openapi?: { openApiRoute?: string } };
        const res = { statusCode: status, headersSent: false, locals: {}, getHeaders: () => ({ 'content-type': 'application/json' }), getHeader: () => undefined, setHeader: () => undefined, set: () => res, status: () => res, json: () => res, send: () => res, end: () => res } as unknown as Response;
        const step = (middleware: RequestHandler) => new Promise<unknown>((resolve) => void Promise.resolve(middleware(req, res, resolve)).catch(resolve));
        if ((await step(metadata)) !== undefined || req.openapi?.openApiRoute !== path) {
          ok = false;
          continue;
        }
        if (multipart) await step(multipart);
        await step(request); // a 400 for the empty request is expected: the validator exists now
        if (response) {
          const unhooked = res.json;
          await step(response);
          if (res.json === unhooked) ok = false;
          // The hook (synchronous) compiles every status's validator of the operation, then
          // finds the empty body wrong and passes the error on: expected, nothing is sent.
          else res.json({});
        }
      }
      if (ok) report.warmed += 1;
      else report.missed.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return report;
}

interface ValidatorError {
  status: number;
  message?: string;
  errors?: { path: string; message: string; errorCode?: string }[];
  headers?: Record<string, string>;
}

function isValidatorError(error: unknown): error is ValidatorError {
  return typeof error === 'object' && error !== null && typeof (error as ValidatorError).status === 'number' && Array.isArray((error as ValidatorError).errors);
}

/** `/body/credentials/x` -> `/credentials/x`; `/params/slug` -> `/path/slug`; `/headers/x` -> `/header/x`. */
export function toPointer(path: string): string {
  const dotted = path.startsWith('.') ? path.replaceAll('.', '/') : path;
  const [, part = '', ...rest] = dotted.split('/');
  const tail = rest.length ? `/${rest.join('/')}` : '';
  switch (part) {
    case 'body':
      return tail || '/';
    case 'params':
      return `/path${tail}`;
    case 'headers':
      return `/header${tail.toLowerCase()}`;
    case 'query':
      return `/query${tail}`;
    default:
      return dotted;
  }
}

function toMessage(message: string, errorCode: string | undefined): string {
  if (errorCode === 'required.openapi.validation' || /^must have required property/.test(message)) return 'is required';
  if (errorCode === 'additionalProperties.openapi.validation' || message === 'must NOT have additional properties') return 'is not allowed';
  return message;
}

/** What Ajv adds when a `oneOf: [X, null]` (a nullable member) fails: the branch it did not
 * take and the combinator itself. Next to the real reason for the same member they only
 * make one bad field read as three. */
const COMBINATOR_NOISE = new Set(['must be null', 'must match exactly one schema in oneOf', 'must match a schema in anyOf']);

export function withoutCombinatorNoise(errors: FieldError[]): FieldError[] {
  const explained = new Set(errors.filter((e) => !COMBINATOR_NOISE.has(e.message)).map((e) => e.pointer));
  return errors.filter((e) => !COMBINATOR_NOISE.has(e.message) || !explained.has(e.pointer));
}

/** The 401 detail: every form of credential the servers accept. */
const UNAUTHENTICATED = 'Send a valid API key (X-Api-Key, or Authorization: Basic) or a bearer token (Authorization: Bearer <JWT>).';

/** Maps an express-openapi-validator error to a problem, or undefined if it is not one. */
export function validatorErrorToProblem(error: unknown, req: Request): HttpProblem | undefined {
  if (!isValidatorError(error)) return undefined;
  switch (error.status) {
    case 400: {
      const seen = new Set<string>();
      const errors: FieldError[] = [];
      for (const e of error.errors ?? []) {
        const item = { pointer: toPointer(e.path), message: toMessage(e.message, e.errorCode) };
        const key = `${item.pointer}\u0000${item.message}`;
        if (!seen.has(key)) {
          seen.add(key);
          errors.push(item);
        }
      }
      return validationProblem(withoutCombinatorNoise(errors));
    }
    case 401: {
      // Why a credential was refused, when the authenticator could tell without saying more
      // than the caller already knows (a bearer token's expiry, issuer or audience).
      const reason = (req as Request & { authenticationFailure?: string }).authenticationFailure;
      return new HttpProblem('unauthenticated', reason ? `${reason} ${UNAUTHENTICATED}` : UNAUTHENTICATED);
    }
    case 403:
      return new HttpProblem('forbidden', 'The API key may not perform this operation.');
    case 404:
      return new HttpProblem('not_found', `No route matches ${req.method} ${req.path}.`);
    case 405: {
      const allow = error.headers?.Allow ?? '';
      return new HttpProblem('method_not_allowed', `${req.method} is not allowed on ${req.path}.`, undefined, {}, allow ? { Allow: allow } : {});
    }
    case 406:
      return new HttpProblem('not_acceptable', 'This operation answers application/json or application/problem+json.');
    case 413:
      return new HttpProblem('payload_too_large', 'The request body is larger than the server accepts.');
    case 415:
      return new HttpProblem('unsupported_media_type', `Send the body as ${req.method === 'PATCH' ? 'application/merge-patch+json or ' : ''}application/json.`);
    default:
      return undefined; // a response that broke the spec, or a bug: the caller turns it into a 500
  }
}
