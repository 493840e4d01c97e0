/** A valid request for any operation, built from the spec's own examples, for the suites that
 * send one of each (the mock's answers, the mock/server parity). The operations themselves
 * come from the one walk over the spec, `@patchbay/api-types/operations`. */
import type { SpecMediaType, SpecOperation, SpecParameter, SpecSchema } from '@patchbay/api-types/operations';

/** A parameter's example: its own, its schema's, the first enum value or the default. */
export function exampleOf(parameter: SpecParameter): unknown {
  const schema = parameter.schema ?? {};
  return parameter.example ?? schema.example ?? schema.enum?.[0] ?? schema.default ?? schema.items?.example ?? schema.items?.enum?.[0];
}

/** The first example of a media type: `example`, else the first of `examples` (what the mock serves by default). */
export function firstExample(media: SpecMediaType | undefined): unknown {
  if (!media) return undefined;
  return media.hasExample ? media.example : media.examples[0]?.value;
}

export interface RequestPlan {
  /** Uppercase: `GET`. */
  method: string;
  /** Path and query string, e.g. /v1/connections/conn_...?limit=50 */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** A valid request for the operation, from the spec's examples: path parameters and required
 * query and header parameters from theirs, the body from the request body's first example. */
export function validRequest(operation: SpecOperation, overrides: { path?: Record<string, string>; query?: Record<string, string>; headers?: Record<string, string>; body?: unknown } = {}): RequestPlan {
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
    const value = 'body' in overrides ? overrides.body : firstExample(media);
    if (value !== undefined) {
      body = JSON.stringify(value);
      headers['Content-Type'] ??= mediaType;
    }
  }
  const search = query.toString();
  return { method: operation.method.toUpperCase(), url: `${path}${search ? `?${search}` : ''}`, headers, ...(body === undefined ? {} : { body }) };
}

/** A value the parameter's schema refuses, or undefined when nothing simple is refused. */
export function invalidValueFor(schema: SpecSchema | undefined): string | undefined {
  if (!schema) return undefined;
  if (schema.pattern || schema.enum) return 'not valid!';
  if (schema.type === 'integer' || schema.type === 'number') return schema.minimum !== undefined ? String(schema.minimum - 1) : 'NaN';
  if (schema.type === 'boolean') return 'maybe';
  if (schema.type === 'array' && (schema.items?.pattern || schema.items?.enum)) return 'not valid!';
  if (schema.type === 'string' && typeof schema.maxLength === 'number') return 'x'.repeat(schema.maxLength + 1);
  return undefined;
}
