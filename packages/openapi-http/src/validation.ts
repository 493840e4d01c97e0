/**
 * express-openapi-validator, one instance per API declared in redocly.yaml, built once.
 * It checks requests (shape, formats, content types, the API key header) and responses
 * against the bundled documents, and finds the operation; the dispatcher then routes on
 * its operationId. Its errors are turned into problems by `toProblem`.
 */
import * as OpenApiValidator from 'express-openapi-validator';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { apiNames, loadDocument, type ApiName, type OpenApiDocument } from '@patchbay/api-types/documents';
import { HttpProblem, validationProblem, type FieldError } from './problem.js';

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
}

/**
 * The validator middlewares. An API whose paths share one first segment owns the requests
 * under it; the first API in redocly.yaml owns the rest, so an unknown path gets its 404.
 * Each validator runs only for its own paths: two instances in one chain would read each
 * other's `req.openapi` and fail.
 */
export function createValidators(apis: LoadedApi[], authenticate: Authenticate, options: ValidatorOptions): RequestHandler[] {
  const prefixes = apis.map((a) => a.prefix).filter((p): p is string => p !== undefined);
  return apis.map((api, index) => {
    const ownsPath =
      api.prefix !== undefined
        ? (path: string) => path.startsWith(api.prefix!)
        : index === apis.findIndex((a) => a.prefix === undefined)
          ? (path: string) => !prefixes.some((p) => path.startsWith(p))
          : () => false;
    const router = Router();
    router.use(
      OpenApiValidator.middleware({
        // EOV mutates the document it is given: give it its own copy.
        apiSpec: structuredClone(api.document) as never,
        validateApiSpec: false,
        validateRequests: { allErrors: true, allowUnknownQueryParameters: false },
        validateResponses: options.validateResponses ? { allErrors: true } : false,
        validateFormats: true,
        // One answer for every scheme the document declares (X-Api-Key, Basic, ...): the caller
        // decides who is calling once; the dispatcher then checks the operation's scopes.
        validateSecurity: { handlers: Object.fromEntries(Object.keys(securitySchemesOf(api.document)).map((name) => [name, (req: Request) => authenticate(req)])) },
      }) as RequestHandler[],
    );
    return (req: Request, res: Response, next: NextFunction) => (ownsPath(req.path) ? router(req, res, next) : next());
  });
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
