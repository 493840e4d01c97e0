/**
 * The one walk over a bundled OpenAPI 3.1 document, and the one `$ref` resolver.
 *
 * `operationsOf(document, api)` lists every operation (paths × methods, in document order)
 * with what the server, the mock and the tests need of it: method and path, operationId,
 * parameters (path-level and operation-level merged, resolved), security and scopes,
 * public-ness, request body and response media types with their schemas and examples
 * (resolved), each with the JSON Pointer it lives at, and the raw operation object.
 *
 * `$ref`s are followed strictly: one that leaves the document, points at nothing or loops
 * throws a `RefError` naming it, never a silent `undefined`.
 *
 * Pure: it takes a document and reads no file (`documents.ts` loads the bundles), so a
 * browser or a test holding a modified copy can use it too.
 */

/** The methods a path item may hold (OpenAPI 3.1 §4.8.9), in the order they are listed. */
export const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof httpMethods)[number];

/** A document as this module reads it: a parsed OpenAPI 3.1 bundle. */
export interface SpecDocument {
  paths?: Record<string, unknown>;
  [key: string]: unknown;
}

type Json = Record<string, unknown>;

/** A `$ref` that cannot be followed: `ref` is the one that failed. */
export class RefError extends Error {
  constructor(
    readonly ref: string,
    message: string,
  ) {
    super(message);
    this.name = 'RefError';
  }
}

// ---- JSON Pointers ----------------------------------------------------------------------

/** One reference token, escaped (RFC 6901 §3: `~` as `~0`, `/` as `~1`). */
export function escapePointerToken(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** `base` extended by tokens, as a URI fragment pointer: `pointerTo('#/paths', '/v1/x', 'get')` is `#/paths/~1v1~1x/get`. */
export function pointerTo(base: string, ...tokens: (string | number)[]): string {
  return `${base}${tokens.map((t) => `/${escapePointerToken(t)}`).join('')}`;
}

/** The value a local pointer (`#/components/...`, `#` for the root) designates, or undefined when there is none. */
export function valueAt(document: unknown, pointer: string): unknown {
  if (pointer === '#' || pointer === '') return document;
  return pointer
    .replace(/^#?\//, '')
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, token) => (node !== null && typeof node === 'object' && Object.hasOwn(node, token) ? (node as Json)[token] : undefined), document);
}

// ---- $ref ---------------------------------------------------------------------------------

const refOf = (node: unknown): string | undefined =>
  node !== null && typeof node === 'object' && typeof (node as { $ref?: unknown }).$ref === 'string' ? (node as { $ref: string }).$ref : undefined;

/**
 * Follows `node`'s `$ref`s (a chain of them, if it is one) to the object itself, and says
 * where that object lives: `pointer` is where `node` is when it holds no `$ref`, else the
 * last `$ref` of the chain. Throws a RefError naming the `$ref` that leaves the document,
 * points at nothing, or comes back to one already followed.
 */
export function follow<T = unknown>(document: unknown, node: unknown, pointer = '#'): { node: T; pointer: string } {
  let current = node;
  let where = pointer;
  const seen: string[] = [];
  for (let ref = refOf(current); ref !== undefined; ref = refOf(current)) {
    if (ref !== '#' && !ref.startsWith('#/')) throw new RefError(ref, `$ref '${ref}' (at ${where}) leaves the document; only local references are followed`);
    if (seen.includes(ref)) throw new RefError(ref, `$ref '${ref}' loops: ${[...seen, ref].join(' -> ')}`);
    seen.push(ref);
    const target = valueAt(document, ref);
    if (target === undefined) throw new RefError(ref, `$ref '${ref}' (at ${where}) points at nothing`);
    current = target;
    where = ref;
  }
  return { node: current as T, pointer: where };
}

/** The object `node` designates, its `$ref`s followed (see `follow`; throws the same way). */
export function resolve<T>(document: unknown, node: T | { $ref: string }): T {
  return follow<T>(document, node).node;
}

// ---- operations ---------------------------------------------------------------------------

/** A JSON Schema, loosely typed: the keywords the consumers read, and any other. */
export interface SpecSchema {
  type?: string | string[];
  pattern?: string;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  items?: SpecSchema;
  required?: string[];
  properties?: Record<string, SpecSchema>;
  $ref?: string;
  [keyword: string]: unknown;
}

/** A named example, resolved (`components/examples` followed). */
export interface SpecExample {
  name: string;
  summary?: string;
  value: unknown;
  /** Where the Example Object lives (`#/components/examples/...` when it was a `$ref`). */
  pointer: string;
}

export interface SpecParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  /** Its schema with the `$ref` followed, and its items' one for an array. */
  schema?: SpecSchema;
  example?: unknown;
  examples: SpecExample[];
  /** Where the Parameter Object lives. */
  pointer: string;
  raw: Json;
}

export interface SpecMediaType {
  mediaType: string;
  /** Where the Media Type Object lives. */
  pointer: string;
  /** The position of its schema (`.../content/application~1json/schema`): what a validator compiles. */
  schemaPointer: string;
  /** The `$ref` its schema position holds, when it is one (`#/components/schemas/Connection`). */
  schemaRef?: string;
  /** The schema, its `$ref` followed. */
  schema?: SpecSchema;
  /** Whether a lone `example` is given (its value may be anything, even null). */
  hasExample: boolean;
  example?: unknown;
  /** The named `examples`, resolved, in document order. */
  examples: SpecExample[];
  raw: Json;
}

export interface SpecRequestBody {
  required: boolean;
  pointer: string;
  /** By media type, in document order. */
  content: Record<string, SpecMediaType>;
}

export interface SpecHeader {
  name: string;
  required: boolean;
  schema?: SpecSchema;
  example?: unknown;
  examples: SpecExample[];
  pointer: string;
  raw: Json;
}

export interface SpecResponse {
  /** `200`, `4XX`, `default`: the key as the spec writes it. */
  status: string;
  description?: string;
  pointer: string;
  content: Record<string, SpecMediaType>;
  headers: Record<string, SpecHeader>;
}

/** One Security Requirement Object: scheme name -> the scopes it asks for. */
export type SecurityRequirement = Record<string, string[]>;

export interface SpecOperation<Api extends string = string> {
  api: Api;
  operationId: string;
  /** Lowercase, as the spec writes it. */
  method: HttpMethod;
  /** The OpenAPI path template: `/v1/connections/{connectionId}`. */
  path: string;
  /** Where the Operation Object lives: `#/paths/~1v1~1connections/get`. */
  pointer: string;
  summary?: string;
  tags: string[];
  /** Path-level and operation-level parameters, the operation's winning a clash (same `in` and `name`). */
  parameters: SpecParameter[];
  /** The effective requirements: the operation's `security`, else the document's. */
  security: SecurityRequirement[];
  /** False when a caller may send no credentials (`security: []`, or an empty requirement). */
  secured: boolean;
  /** `x-patchbay-public`: why an operation needs no key; undefined for the others. */
  publicReason?: string;
  /** The scopes a caller needs, all of them (see `scopesOf`). */
  scopes: string[];
  requestBody?: SpecRequestBody;
  /** By status key, in document order. */
  responses: Record<string, SpecResponse>;
  /** The Operation Object as the document has it. */
  operation: Json;
}

/**
 * The scopes an operation needs: those its security requirements list (`security` of the
 * operation, else `documentSecurity`), in order of first appearance. The lint rule
 * patchbay/operation-security-or-opt-out makes every alternative name the same ones.
 */
export function scopesOf(operation: object, documentSecurity: readonly SecurityRequirement[] = []): string[] {
  const security = ((operation as { security?: unknown }).security ?? documentSecurity) as SecurityRequirement[];
  return [...new Set(security.flatMap((requirement) => Object.values(requirement).flat()).map(String))];
}

/** A RegExp matching the concrete paths of a path template (`{name}` is one segment). */
export function pathPattern(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

function examplesOf(document: unknown, holder: Json, holderPointer: string): SpecExample[] {
  return Object.entries((holder.examples ?? {}) as Json).map(([name, raw]) => {
    const { node, pointer } = follow<{ summary?: string; value?: unknown }>(document, raw, pointerTo(holderPointer, 'examples', name));
    return { name, ...(node.summary !== undefined ? { summary: node.summary } : {}), value: node.value, pointer };
  });
}

/** A schema with its `$ref` followed, and its items' one for an array. */
function schemaOf(document: unknown, raw: unknown): SpecSchema | undefined {
  if (raw === undefined) return undefined;
  const schema = resolve<SpecSchema>(document, raw as SpecSchema);
  return schema.items ? { ...schema, items: resolve<SpecSchema>(document, schema.items) } : schema;
}

function contentOf(document: unknown, holder: Json, holderPointer: string): Record<string, SpecMediaType> {
  return Object.fromEntries(
    Object.entries((holder.content ?? {}) as Record<string, Json>).map(([mediaType, media]) => {
      const pointer = pointerTo(holderPointer, 'content', mediaType);
      const schemaRef = refOf(media.schema);
      const schema = schemaOf(document, media.schema);
      const entry: SpecMediaType = {
        mediaType,
        pointer,
        schemaPointer: pointerTo(pointer, 'schema'),
        ...(schemaRef !== undefined ? { schemaRef } : {}),
        ...(schema ? { schema } : {}),
        hasExample: 'example' in media,
        ...('example' in media ? { example: media.example } : {}),
        examples: examplesOf(document, media, pointer),
        raw: media,
      };
      return [mediaType, entry];
    }),
  );
}

function parameterOf(document: unknown, raw: unknown, at: string): SpecParameter {
  const { node, pointer } = follow<Json>(document, raw, at);
  const schema = schemaOf(document, node.schema);
  return {
    name: String(node.name),
    in: node.in as SpecParameter['in'],
    required: node.required === true,
    ...(schema ? { schema } : {}),
    ...('example' in node ? { example: node.example } : {}),
    examples: examplesOf(document, node, pointer),
    pointer,
    raw: node,
  };
}

function responseOf(document: unknown, status: string, raw: unknown, at: string): SpecResponse {
  const { node, pointer } = follow<Json>(document, raw, at);
  const headers = Object.fromEntries(
    Object.entries((node.headers ?? {}) as Json).map(([name, rawHeader]) => {
      const header = follow<Json>(document, rawHeader, pointerTo(pointer, 'headers', name));
      const schema = schemaOf(document, header.node.schema);
      const entry: SpecHeader = {
        name,
        required: header.node.required === true,
        ...(schema ? { schema } : {}),
        ...('example' in header.node ? { example: header.node.example } : {}),
        examples: examplesOf(document, header.node, header.pointer),
        pointer: header.pointer,
        raw: header.node,
      };
      return [name, entry];
    }),
  );
  return { status, ...(typeof node.description === 'string' ? { description: node.description } : {}), pointer, content: contentOf(document, node, pointer), headers };
}

/** Every operation of one document, paths × methods, in document order. */
export function operationsOf<Api extends string>(document: SpecDocument, api: Api): SpecOperation<Api>[] {
  const documentSecurity = (document.security ?? []) as SecurityRequirement[];
  return Object.entries(document.paths ?? {}).flatMap(([path, rawItem]) => {
    const item = follow<Json>(document, rawItem, pointerTo('#/paths', path));
    const itemParameters = ((item.node.parameters ?? []) as unknown[]).map((p, i) => parameterOf(document, p, pointerTo(item.pointer, 'parameters', i)));
    return httpMethods
      .filter((method) => item.node[method] !== undefined)
      .map((method): SpecOperation<Api> => {
        const pointer = pointerTo(item.pointer, method);
        const operation = item.node[method] as Json;
        const own = ((operation.parameters ?? []) as unknown[]).map((p, i) => parameterOf(document, p, pointerTo(pointer, 'parameters', i)));
        const parameters = [...itemParameters.filter((p) => !own.some((o) => o.in === p.in && o.name === p.name)), ...own];
        const security = (operation.security ?? documentSecurity) as SecurityRequirement[];
        const body = operation.requestBody === undefined ? undefined : follow<Json>(document, operation.requestBody, pointerTo(pointer, 'requestBody'));
        const responses = Object.fromEntries(
          Object.entries((operation.responses ?? {}) as Json).map(([status, raw]) => [status, responseOf(document, status, raw, pointerTo(pointer, 'responses', status))]),
        );
        const publicReason = operation['x-patchbay-public'];
        return {
          api,
          operationId: String(operation.operationId),
          method,
          path,
          pointer,
          ...(typeof operation.summary === 'string' ? { summary: operation.summary } : {}),
          tags: (operation.tags ?? []) as string[],
          parameters,
          security,
          secured: security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0),
          ...(typeof publicReason === 'string' ? { publicReason } : {}),
          scopes: scopesOf(operation, documentSecurity),
          ...(body ? { requestBody: { required: body.node.required === true, pointer: body.pointer, content: contentOf(document, body.node, body.pointer) } } : {}),
          responses,
          operation,
        };
      });
  });
}
