// @patchbay/mock/msw: the mock as MSW request handlers (issue 16), for a frontend's unit tests
// (vitest with msw/node) and its browser (Storybook, a dev build with msw/browser), with no
// mock process. Built from the same bundles and the same examples as the mock process, with
// the same engine (core/engine.mjs): answers by id, the stateful store, `Prefer`.
//
// What it does not share with the process: express-openapi-validator, which runs only in
// Node. In its place, a thin check of ours with the same Ajv and the edge's wording: 401
// without a key, 404 for an unknown path, 405 for an undocumented method, 400 for malformed
// JSON, 415 for a body that is not JSON or is missing, and 400 validation_failed for
// parameters (unknown query parameters, reserved characters, types, patterns, bounds) and
// bodies that break their schemas. test/mock/msw.test.ts holds it to the server's answers
// on parity.test.ts's kinds of bad request; what it misses, the process still catches.
// See docs/decisions/0017-mock-by-id-stateful-and-msw.md.
//
//   import { setupServer } from 'msw/node';
//   import { patchbayHandlers } from '@patchbay/mock/msw';
//   const server = setupServer(...patchbayHandlers({ documents, providers, baseUrl: 'http://api.test', stateful: true }));
import { http, HttpResponse } from 'msw';
import { operationsOf, resolve as resolveRef } from '@patchbay/api-types/operations';
import { HttpProblem, validationProblem } from '@patchbay/openapi-http/problem';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { apiKeyOf, createEngine, parsePrefer } from './core/engine.mjs';

const addFormats = addFormatsModule.default ?? addFormatsModule;

/** What Ajv adds next to the real reason when a nullable member (`oneOf: [X, null]`) fails
 * (the shared edge drops it too: openapi-http's withoutCombinatorNoise). */
const COMBINATOR_NOISE = new Set(['must be null', 'must match exactly one schema in oneOf', 'must match a schema in anyOf']);

/** RFC 3986 reserved characters: a query value holding one decoded is refused, as the edge's
 * validator refuses it (unless the parameter allows reserved characters). */
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;

/** A parameter's text as its schema's type: what the edge's validator coerces. */
function coerce(type, text) {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/** The parameters of a request (path, query, headers) checked against the operation's, with
 * the edge's pointers and messages; the field errors, or an empty list. */
function parameterValidator(documents, ajv) {
  const compiled = new Map();
  return (operation, params, url, headers) => {
    const document = documents[operation.api];
    const errors = [];
    const declared = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(url.searchParams.keys())) {
      if (!declared.has(name)) errors.push({ pointer: `/query/${name}`, message: `Unknown query parameter '${name}'` });
    }
    for (const parameter of operation.parameters) {
      const where = parameter.in === 'path' ? 'path' : parameter.in === 'query' ? 'query' : parameter.in === 'header' ? 'header' : undefined;
      if (!where || !parameter.schema) continue;
      const pointer = `/${where}/${where === 'header' ? parameter.name.toLowerCase() : parameter.name}`;
      const texts = where === 'path' ? [params[parameter.name]] : where === 'query' ? url.searchParams.getAll(parameter.name) : headers[parameter.name.toLowerCase()] === undefined ? [] : [headers[parameter.name.toLowerCase()]];
      if (texts.length === 0 || texts[0] === undefined) {
        if (parameter.required) errors.push({ pointer, message: 'is required' });
        continue;
      }
      if (where === 'query' && !parameter.allowReserved && texts.some((t) => RESERVED.test(t))) {
        errors.push({ pointer, message: `Parameter '${parameter.name}' must be url encoded. Its value may not contain reserved characters.` });
        continue;
      }
      const schema = resolveRef(document, parameter.schema);
      const value = schema.type === 'array' ? texts.map((t) => coerce(resolveRef(document, schema.items ?? {}).type, t)) : coerce(schema.type, texts[0]);
      const key = `${operation.operationId}\u0000${pointer}`;
      if (!compiled.has(key)) compiled.set(key, ajv.compile({ $ref: `patchbay:${operation.api}${parameter.pointer}/schema` }));
      const validate = compiled.get(key);
      if (!validate(value)) errors.push(...ajvErrors(validate.errors, pointer));
    }
    return errors;
  };
}

/** Ajv's errors as the edge reports them under `base`: pointers, 'is required', 'is not
 * allowed', an enum's values after its message, no oneOf/anyOf noise. */
function ajvErrors(ajvErrorList, base = '') {
  const seen = new Set();
  const errors = [];
  for (const e of ajvErrorList ?? []) {
    const member = e.keyword === 'required' ? e.params.missingProperty : e.keyword === 'additionalProperties' ? e.params.additionalProperty : undefined;
    const pointer = `${base}${e.instancePath}${member ? `/${member}` : ''}` || '/';
    const message =
      e.keyword === 'required' ? 'is required' : e.keyword === 'additionalProperties' ? 'is not allowed' : e.keyword === 'enum' ? `${e.message}: ${e.params.allowedValues.join(', ')}` : e.message;
    if (!seen.has(`${pointer}\u0000${message}`)) {
      seen.add(`${pointer}\u0000${message}`);
      errors.push({ pointer, message });
    }
  }
  const explained = new Set(errors.filter((e) => !COMBINATOR_NOISE.has(e.message)).map((e) => e.pointer));
  return errors.filter((e) => !COMBINATOR_NOISE.has(e.message) || !explained.has(e.pointer));
}

/** A request body checked against its schema, with the edge's pointers and messages; the
 * field errors, or an empty list. */
function bodyValidator(ajv) {
  const compiled = new Map();
  return (operation, type, body) => {
    const media = operation.requestBody?.content[type];
    if (!media) return [];
    const ref = `patchbay:${operation.api}${media.schemaPointer}`;
    if (!compiled.has(ref)) compiled.set(ref, ajv.compile({ $ref: ref }));
    const validate = compiled.get(ref);
    return validate(body) ? [] : ajvErrors(validate.errors);
  };
}

const REQUEST_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const newRequestId = () => `req_${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => REQUEST_ID_ALPHABET[b % 64]).join('')}`;

/** `/v1/connections/{connectionId}` -> a RegExp naming its parameters; literal paths first. */
function routesOf(operations) {
  return operations
    .map((operation) => {
      const names = [];
      const source = operation.path.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`)).replace(/\{([^}]+)\}/g, (_m, name) => (names.push(name), '([^/]+)'));
      return { operation, names, pattern: new RegExp(`^${source}$`) };
    })
    .sort((a, b) => a.names.length - b.names.length);
}

/** A documented problem example of an operation's response, as this request's problem. */
function documentedProblem(operation, status, code, requestId, path) {
  const media = operation?.responses[String(status)]?.content['application/problem+json'];
  const examples = media ? [...(media.hasExample ? [media.example] : []), ...media.examples.map((e) => e.value)] : [];
  const example = examples.find((e) => e?.code === code);
  if (example) return { ...example, request_id: requestId, instance: path };
  return undefined;
}

const problemResponse = (status, body, requestId, headers = {}) =>
  new HttpResponse(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json', 'X-Request-Id': requestId, ...headers } });

/** Fills in the defaults a body's schema declares for members left out, as the server's
 * validator does (Ajv's useDefaults: in `properties` and map values; not behind a property's
 * own $ref, not inside oneOf/anyOf), so
 * the stateful rules see the body the server's rules see. */
function withDefaults(document, schema, value, depth = 0) {
  if (!schema || depth > 32 || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const node = resolveRef(document, schema);
  const result = { ...value };
  for (const [name, member] of Object.entries(node.properties ?? {})) {
    // A default counts where the property's own schema states it, not behind its $ref (as Ajv).
    if (!(name in result) && member.default !== undefined) result[name] = structuredClone(member.default);
    else if (name in result) result[name] = withDefaults(document, member, result[name], depth + 1);
  }
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    for (const name of Object.keys(result)) if (!(name in (node.properties ?? {}))) result[name] = withDefaults(document, node.additionalProperties, result[name], depth + 1);
  }
  return result;
}

/** The first example of the lowest success status, or what `Prefer: code=, example=` asks for. */
function exampleAnswer(operation, prefer) {
  const statuses = Object.keys(operation.responses).filter((s) => /^\d{3}$/.test(s));
  const status = prefer.code ?? statuses.filter((s) => s.startsWith('2')).sort()[0];
  const response = operation.responses[status];
  if (!response) return { error: `${operation.operationId} documents no ${prefer.code} response` };
  const [type, media] = Object.entries(response.content)[0] ?? [];
  if (!media) return { status: Number(status) };
  const all = [...(media.hasExample ? [{ name: undefined, value: media.example }] : []), ...media.examples];
  const chosen = prefer.example === undefined ? all[0] : all.find((e) => e.name === prefer.example);
  if (!chosen) return { error: `${operation.operationId} ${status} has no example '${prefer.example}'` };
  return { status: Number(status), contentType: type, body: structuredClone(chosen.value) };
}

/**
 * The mock as MSW handlers and a reset.
 * @param {{ documents: Record<string, object>, providers?: object[], baseUrl?: string, stateful?: boolean, limits?: { keys?: number, connectionsPerKey?: number } }} options
 *   documents: the bundles by API name (`@patchbay/api-types` ships them; a browser app fetches
 *   or imports them); providers: the catalog, for the stateful rules (create, upsert);
 *   baseUrl: where the app sends its API calls (default: any origin); stateful: remember writes.
 */
export function createPatchbayMock({ documents, providers = [], baseUrl, stateful = false, limits }) {
  const operations = Object.entries(documents).flatMap(([name, document]) => operationsOf(document, name));
  const routes = routesOf(operations);
  const engine = createEngine({ operations, providers, stateful, limits });
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  for (const [name, document] of Object.entries(documents)) ajv.addSchema(document, `patchbay:${name}`);
  const validateBody = bodyValidator(ajv);
  const validateParameters = parameterValidator(documents, ajv);
  const prefixes = new Set([...operations.map((o) => `/${o.path.split('/')[1]}`), '/_mock']);
  const base = baseUrl ? new URL(baseUrl) : undefined;
  const basePath = base ? base.pathname.replace(/\/$/, '') : '';

  async function resolve({ request }) {
    const url = new URL(request.url);
    if (base && (url.origin !== base.origin || !url.pathname.startsWith(basePath))) return undefined;
    const path = url.pathname.slice(basePath.length) || '/';
    if (!prefixes.has(`/${path.split('/')[1]}`)) return undefined; // not an API call: the network's
    const requestId = request.headers.get('x-request-id') || newRequestId();
    const headers = Object.fromEntries(request.headers.entries());
    const method = request.method.toUpperCase();

    if (path === '/_mock/state' && method === 'DELETE') {
      const key = apiKeyOf(headers);
      if (key) engine.store.reset(key);
      return new HttpResponse(null, { status: 204, headers: { 'X-Request-Id': requestId } });
    }

    const matching = routes.map((r) => ({ ...r, match: r.pattern.exec(path) })).filter((r) => r.match);
    if (matching.length === 0) {
      const problem = new HttpProblem('not_found', `No route matches ${method} ${path}.`).toDocument(requestId, path);
      return problemResponse(404, problem, requestId);
    }
    const route = matching.find((r) => r.operation.method.toUpperCase() === method);
    if (!route) {
      const allow = matching.map((r) => r.operation.method.toUpperCase()).join(', ');
      const problem = new HttpProblem('method_not_allowed', `${method} is not allowed on ${path}.`).toDocument(requestId, path);
      return problemResponse(405, problem, requestId, { Allow: allow });
    }
    const { operation } = route;
    const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(route.match[i + 1])]));

    if (operation.secured && !apiKeyOf(headers) && !/^Bearer\s+\S+/i.test(headers.authorization ?? '')) {
      return problemResponse(401, documentedProblem(operation, 401, 'unauthenticated', requestId, path) ?? new HttpProblem('unauthenticated').toDocument(requestId, path), requestId);
    }

    let body;
    const text = await request.text();
    const parameterErrors = validateParameters(operation, params, url, headers);
    const type = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    // A body that is not JSON, or none where one is required (no Content-Type then), is a 415.
    if ((text !== '' || operation.requestBody?.required) && operation.requestBody && !Object.keys(operation.requestBody.content).includes(type)) {
      return problemResponse(415, documentedProblem(operation, 415, 'unsupported_media_type', requestId, path) ?? new HttpProblem('unsupported_media_type').toDocument(requestId, path), requestId);
    }
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return problemResponse(400, documentedProblem(operation, 400, 'malformed_json', requestId, path) ?? new HttpProblem('malformed_json').toDocument(requestId, path), requestId);
      }
      body = withDefaults(documents[operation.api], operation.requestBody?.content[type]?.schema, body);
    }
    const errors = [...parameterErrors, ...(body === undefined ? [] : validateBody(operation, type, body))];
    if (errors.length) return problemResponse(400, validationProblem(errors).toDocument(requestId, path), requestId);

    const query = {};
    for (const name of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(name);
      query[name] = values.length === 1 ? values[0] : values;
    }
    let answer = engine.answer({ operation, params, query, headers, body, requestId, path });
    if (!answer) {
      const prefer = parsePrefer(headers.prefer);
      answer = exampleAnswer(operation, prefer);
      if (answer.error) {
        const problem = new HttpProblem('validation_failed', '1 field is invalid', [{ pointer: '/header/prefer', message: answer.error }]).toDocument(requestId, path);
        return problemResponse(400, problem, requestId);
      }
      if (/problem\+json/.test(answer.contentType ?? '') && answer.body) answer.body = { ...answer.body, request_id: requestId, instance: path };
    }
    const responseHeaders = { 'X-Request-Id': requestId, ...(answer.headers ?? {}) };
    if (answer.body === undefined || answer.status === 204) return new HttpResponse(null, { status: answer.status, headers: responseHeaders });
    return new HttpResponse(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': answer.contentType ?? 'application/json', ...responseHeaders } });
  }

  return {
    /** The handlers: one that answers every operation of every API, and DELETE /_mock/state. */
    handlers: [http.all(/.*/, resolve)],
    /** Forgets one key's changes, or every key's. */
    reset(key) {
      if (key === undefined) for (const k of engine.store.keys()) engine.store.reset(k);
      else engine.store.reset(key);
    },
  };
}

/** The MSW handlers alone (see createPatchbayMock). */
export const patchbayHandlers = (options) => createPatchbayMock(options).handlers;
