/** Every operation of the bundled specs, with its parameters, body and responses resolved,
 * and a valid request built from the spec's own examples. Suites that must cover "every
 * operation" walk this list, so a new operation is covered the day it is added. */
import { apiNames, loadDocument, type ApiName, type OpenApiDocument } from '@patchbay/api-types/documents';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
  example?: unknown;
}

export interface Schema {
  type?: string | string[];
  pattern?: string;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  $ref?: string;
  [keyword: string]: unknown;
}

export interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown; $ref?: string }>;
}

export interface Response {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, MediaType>;
}

export interface Operation {
  api: ApiName;
  operationId: string;
  method: string;
  path: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, Response>;
  /** False for the public operations (`security: []`). */
  secured: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Follows local `$ref`s (`#/components/...`) until it reaches the object itself; a `$ref`
 * that leaves the bundle, loops or points at nothing is an error, never a silent undefined. */
export function resolve<T>(document: OpenApiDocument, value: T | { $ref: string }): T {
  let current: unknown = value;
  for (let hops = 0; current && typeof current === 'object' && '$ref' in current; hops++) {
    const ref = (current as { $ref: string }).$ref;
    if (hops > 20 || !ref.startsWith('#/')) throw new Error(`cannot follow $ref ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
    if (current === undefined) throw new Error(`$ref ${ref} points at nothing`);
  }
  return current as T;
}

export function loadOperations(): Operation[] {
  return apiNames.flatMap((api) => {
    const document = loadDocument(api);
    const globalSecurity = (document as { security?: unknown[] }).security ?? [];
    return Object.entries(document.paths ?? {}).flatMap(([path, rawItem]) => {
      const item = rawItem as Record<string, unknown> & { parameters?: unknown[] };
      return METHODS.filter((m) => item[m]).map((method): Operation => {
        const op = item[method] as Record<string, unknown> & { operationId: string; parameters?: unknown[]; security?: unknown[] };
        const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((raw) => {
          const p = resolve<Parameter>(document, raw as Parameter);
          const schema = p.schema && resolve<Schema>(document, p.schema);
          return { ...p, ...(schema ? { schema: schema.items ? { ...schema, items: resolve<Schema>(document, schema.items) } : schema } : {}) };
        });
        const responses = Object.fromEntries(Object.entries((op.responses ?? {}) as Record<string, unknown>).map(([status, r]) => [status, resolve<Response>(document, r as Response)]));
        const body = op.requestBody ? resolve<NonNullable<Operation['requestBody']>>(document, op.requestBody as never) : undefined;
        const requestBody = body && { ...body, content: Object.fromEntries(Object.entries(body.content).map(([type, media]) => [type, { ...media, ...(media.schema ? { schema: resolve<Schema>(document, media.schema) } : {}) }])) };
        const security = op.security ?? globalSecurity;
        return { api, operationId: op.operationId, method: method.toUpperCase(), path, parameters, responses, ...(requestBody ? { requestBody } : {}), secured: security.length > 0 };
      });
    });
  });
}

/** A parameter's example: its own, its schema's, the first enum value or the default. */
export function exampleOf(parameter: Parameter): unknown {
  const schema = parameter.schema ?? {};
  return parameter.example ?? schema.example ?? schema.enum?.[0] ?? schema.default ?? schema.items?.example ?? schema.items?.enum?.[0];
}

/** The first example of a media type: `example`, else the first of `examples`. */
export function firstExample(media: MediaType | undefined, document?: OpenApiDocument): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = Object.values(media.examples ?? {})[0];
  if (!first) return undefined;
  return (document ? resolve(document, first) : first).value;
}

export interface RequestPlan {
  method: string;
  /** Path and query string, e.g. /v1/connections/conn_...?limit=50 */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** A valid request for the operation, from the spec's examples: path parameters and required
 * query and header parameters from theirs, the body from the request body's first example. */
export function validRequest(operation: Operation, overrides: { path?: Record<string, string>; query?: Record<string, string>; headers?: Record<string, string>; body?: unknown } = {}): RequestPlan {
  let path = operation.path;
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  for (const p of operation.parameters) {
    if (p.in === 'path') {
      const value = overrides.path?.[p.name] ?? String(exampleOf(p));
      path = path.replace(`{${p.name}}`, encodeURIComponent(value));
    } else if (p.in === 'query' && p.required) {
      query.set(p.name, String(exampleOf(p)));
    } else if (p.in === 'header' && p.required) {
      headers[p.name] = String(exampleOf(p));
    }
  }
  for (const [name, value] of Object.entries(overrides.query ?? {})) query.set(name, value);
  Object.assign(headers, overrides.headers);
  let body: string | undefined;
  if (operation.requestBody) {
    const [mediaType, media] = Object.entries(operation.requestBody.content)[0]!;
    const value = 'body' in overrides ? overrides.body : firstExample(media, loadDocument(operation.api));
    if (value !== undefined) {
      body = JSON.stringify(value);
      headers['Content-Type'] ??= mediaType;
    }
  }
  const search = query.toString();
  return { method: operation.method, url: `${path}${search ? `?${search}` : ''}`, headers, ...(body === undefined ? {} : { body }) };
}
