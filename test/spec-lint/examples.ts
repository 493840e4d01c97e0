/**
 * Every example of the bundled specs (specs/dist), checked as the mock and the docs serve it:
 * against its schema (a request example may not carry a readOnly member, a response example
 * no writeOnly one), against what the server really answers (problem documents), against the
 * provider catalog, and against the other examples (one small cast of ids and values that
 * tells one story). Each check returns violations that name where the example is; none of
 * them relies on Redocly's own example rules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { escapePointerToken as escape, follow, operationsOf, pathPattern, pointerTo as child, valueAt as at } from '@patchbay/api-types/operations';
import { specsDir, workspaceRoot } from '../support/paths.js';

// Parsed JSON: the checks below know the shapes they walk.
type Json = any;

export interface Bundle {
  name: string;
  document: Json;
}

export interface Catalog {
  providers: Json[];
}

/** One example value and where it lives. */
export interface ExampleSite {
  api: string;
  /** Where a reader finds it: `connections GET /v1/connections 200 application/json examples.all`. */
  where: string;
  kind: 'request' | 'response' | 'parameter' | 'header' | 'schema';
  /** The operation it belongs to (not for schema-level examples). */
  operationId?: string;
  method?: string;
  path?: string;
  status?: string;
  mediaType?: string;
  /** The key in `examples`, or undefined for a lone `example`. */
  name?: string;
  /** The first example of its media type: what the mock serves without `Prefer: example=`. */
  first: boolean;
  /** JSON pointer (in the bundle) of the schema the value must match. */
  schemaPointer: string;
  /** The component schema it is an instance of (`Connection`), when the schema is a plain $ref. */
  schemaName?: string;
  value: unknown;
}

/** The bundles `pnpm --filter @patchbay/specs build` wrote, as declared in its apis.json. */
export function loadBundles(distDir = join(specsDir, 'dist')): Bundle[] {
  const { apis } = JSON.parse(readFileSync(join(distDir, 'apis.json'), 'utf8')) as { apis: { name: string; bundle: string }[] };
  return apis.map((api) => ({ name: api.name, document: JSON.parse(readFileSync(join(distDir, api.bundle), 'utf8')) }));
}

export function loadCatalog(distDir = join(specsDir, 'dist')): Catalog {
  return JSON.parse(readFileSync(join(distDir, 'providers.json'), 'utf8')) as Catalog;
}

/** The server's problem codes with their status and title, read from its source so that the
 * examples are held to what it really sends. */
export function loadProblemTable(): Map<string, { status: number; title: string }> {
  const candidates = [join(workspaceRoot, 'packages', 'openapi-http', 'src', 'problem.ts'), join(workspaceRoot, 'apps', 'server', 'src', 'http', 'problem.ts')];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error(`the server's problem table was not found (looked in ${candidates.join(', ')})`);
  const table = new Map<string, { status: number; title: string }>();
  for (const m of readFileSync(file, 'utf8').matchAll(/^\s*([a-z_]+): \{ status: (\d{3}), title: '([^']+)' \}/gm)) table.set(m[1]!, { status: Number(m[2]), title: m[3]! });
  if (table.size < 5) throw new Error(`could not read the problem table of ${file}`);
  return table;
}

/** `isSecretName` of our lint plugin: the one definition of a name that says "secret". */
export async function loadSecretNameTest(): Promise<(name: string) => boolean> {
  const plugin = (await import(pathToFileURL(join(specsDir, 'lint', 'patchbay-plugin.js')).href)) as { isSecretName: (name: string) => boolean };
  return plugin.isSecretName;
}

// ---- pointers and references ------------------------------------------------------------

// Pointers and the strict $ref resolver are the one walk's (@patchbay/api-types/operations):
// a $ref that dangles, loops or leaves the bundle throws, naming it.
const deref = (document: Json, node: Json, pointer: string): { node: Json; pointer: string } => follow<Json>(document, node, pointer);

const refName = (schema: Json) => (schema && typeof schema.$ref === 'string' && schema.$ref.startsWith('#/components/schemas/') ? schema.$ref.split('/').pop() : undefined);

// ---- collecting every example -----------------------------------------------------------

/** Every example of one bundle: media types (request bodies, responses), parameters, headers,
 * and the `example`s of component schemas. Shared components are visited once per operation
 * that uses them, which is what lets the checks see each in context. */
export function collectExamples(bundle: Bundle): ExampleSite[] {
  const { document, name: api } = bundle;
  const sites: ExampleSite[] = [];

  const fromHolder = (holder: Json, holderPointer: string, schemaPointer: string, base: Omit<ExampleSite, 'where' | 'name' | 'first' | 'schemaPointer' | 'value'>, where: string) => {
    if (!holder) return;
    const schemaName = refName(at(document, schemaPointer));
    if (holder.example !== undefined) {
      sites.push({ ...base, where: `${where} example`, first: true, schemaPointer, schemaName, value: holder.example });
    }
    Object.entries(holder.examples ?? {}).forEach(([key, example], index) => {
      const resolved = deref(document, example, child(holderPointer, 'examples', key));
      const via = resolved.pointer.startsWith('#/components/') ? ` (${resolved.pointer})` : '';
      sites.push({ ...base, where: `${where} examples.${key}${via}`, name: key, first: index === 0 && holder.example === undefined, schemaPointer, schemaName, value: resolved.node?.value });
    });
  };

  for (const operation of operationsOf(document, api)) {
    const label = `${api} ${operation.method.toUpperCase()} ${operation.path}`;
    const base = { api, operationId: operation.operationId, method: operation.method, path: operation.path };
    for (const parameter of operation.parameters) {
      fromHolder(parameter.raw, parameter.pointer, child(parameter.pointer, 'schema'), { ...base, kind: 'parameter' }, `${label} parameter ${parameter.in}:${parameter.name}`);
    }
    for (const media of Object.values(operation.requestBody?.content ?? {})) {
      fromHolder(media.raw, media.pointer, media.schemaPointer, { ...base, kind: 'request', mediaType: media.mediaType }, `${label} requestBody ${media.mediaType}`);
    }
    for (const { status, content, headers } of Object.values(operation.responses)) {
      for (const media of Object.values(content)) {
        fromHolder(media.raw, media.pointer, media.schemaPointer, { ...base, kind: 'response', status, mediaType: media.mediaType }, `${label} ${status} ${media.mediaType}`);
      }
      for (const header of Object.values(headers)) {
        fromHolder(header.raw, header.pointer, child(header.pointer, 'schema'), { ...base, kind: 'header', status }, `${label} ${status} header ${header.name}`);
      }
    }
  }

  for (const [schemaName, schema] of Object.entries(document.components?.schemas ?? {})) {
    walkSchemas(schema, child('#/components/schemas', schemaName), (node, pointer) => {
      const values = [...(node.example !== undefined ? [node.example] : []), ...(Array.isArray(node.examples) ? node.examples : [])];
      for (const value of values) sites.push({ api, kind: 'schema', where: `${api} schema ${pointer.replace('#/components/schemas/', '')} example`, first: true, schemaPointer: pointer, value });
    });
  }
  return sites;
}

/** Calls `visit` on a schema and every schema inside it (not into example values). */
function walkSchemas(schema: Json, pointer: string, visit: (node: Json, pointer: string) => void): void {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return;
  visit(schema, pointer);
  for (const key of ['properties', 'patternProperties', '$defs', 'dependentSchemas']) {
    for (const [name, sub] of Object.entries(schema[key] ?? {})) walkSchemas(sub, child(pointer, key, name), visit);
  }
  for (const key of ['additionalProperties', 'items', 'not', 'if', 'then', 'else', 'propertyNames', 'contains', 'unevaluatedItems', 'unevaluatedProperties']) {
    if (schema[key] && typeof schema[key] === 'object') walkSchemas(schema[key], child(pointer, key), visit);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) {
    (schema[key] ?? []).forEach((sub: Json, i: number) => walkSchemas(sub, child(pointer, key, i), visit));
  }
}

/** Every schema position of an OpenAPI document (components and inline in paths). */
function forEachRootSchema(document: Json, visit: (schema: Json) => void): void {
  const inContent = (holder: Json) => Object.values(holder?.content ?? {}).forEach((c: Json) => c?.schema && visit(c.schema));
  const inHeaders = (holder: Json) => Object.values(holder?.headers ?? {}).forEach((h: Json) => h?.schema && visit(h.schema));
  const components = document.components ?? {};
  Object.values(components.schemas ?? {}).forEach(visit);
  Object.values(components.parameters ?? {}).forEach((p: Json) => p?.schema && visit(p.schema));
  Object.values(components.headers ?? {}).forEach((h: Json) => h?.schema && visit(h.schema));
  Object.values(components.requestBodies ?? {}).forEach(inContent);
  Object.values(components.responses ?? {}).forEach((r: Json) => (inContent(r), inHeaders(r)));
  for (const operation of operationsOf(document, 'copy')) {
    for (const parameter of operation.parameters) if (parameter.raw.schema) visit(parameter.raw.schema);
    const media = [...Object.values(operation.requestBody?.content ?? {}), ...Object.values(operation.responses).flatMap((r) => Object.values(r.content))];
    for (const m of media) if (m.raw.schema) visit(m.raw.schema);
    for (const response of Object.values(operation.responses)) for (const header of Object.values(response.headers)) if (header.raw.schema) visit(header.raw.schema);
  }
}

// ---- 1. every example against its schema ------------------------------------------------

const VIEW_MARK = 'x-patchbay-example-view';

/** A copy of the document where every `readOnly` (request view) or `writeOnly` (response
 * view) schema accepts nothing, so that an example carrying such a member fails right there. */
function view(document: Json, forbidden: 'readOnly' | 'writeOnly'): Json {
  const copy = structuredClone(document);
  const seen = new Set<Json>();
  forEachRootSchema(copy, (root) =>
    walkSchemas(root, '#', (node) => {
      if (seen.has(node)) return;
      seen.add(node);
      if (node[forbidden] === true) {
        for (const key of Object.keys(node)) delete node[key];
        node.not = {};
        node[VIEW_MARK] = forbidden;
      }
    }),
  );
  return copy;
}

export class SchemaChecker {
  private readonly ajv = new Ajv2020.default({ strict: false, allErrors: true, verbose: true });

  constructor(bundles: Bundle[]) {
    addFormats.default(this.ajv);
    for (const { name, document } of bundles) {
      this.ajv.addSchema(document, `patchbay:${name}:plain`);
      this.ajv.addSchema(view(document, 'readOnly'), `patchbay:${name}:request`);
      this.ajv.addSchema(view(document, 'writeOnly'), `patchbay:${name}:response`);
    }
  }

  /** The violations of one example, each prefixed with where the example is. */
  check(site: ExampleSite): string[] {
    const which = site.kind === 'request' || site.kind === 'parameter' ? 'request' : site.kind === 'schema' ? 'plain' : 'response';
    const ref = `patchbay:${site.api}:${which}${site.schemaPointer}`;
    const validate = this.ajv.getSchema(ref) ?? this.ajv.compile({ $ref: ref });
    if (site.value === undefined) return [`${site.where}: has no value`];
    if (validate(site.value)) return [];
    const messages = (validate.errors ?? [])
      .filter((e) => !(e.keyword === 'oneOf' || e.keyword === 'anyOf'))
      .map((e) => {
        const path = e.instancePath || '/';
        const mark = (e.parentSchema as Json)?.[VIEW_MARK];
        if (e.keyword === 'not' && mark === 'readOnly') return `${path} is readOnly: a request example must not send it`;
        if (e.keyword === 'not' && mark === 'writeOnly') return `${path} is writeOnly: a response example must not carry it`;
        const extra = (e.params as { additionalProperty?: string }).additionalProperty;
        return `${path} ${e.message}${extra ? ` (${extra})` : ''}`;
      });
    return [...new Set(messages.length ? messages : ['does not match its schema'])].map((m) => `${site.where}: ${m}`);
  }
}

// ---- 2. truth: what the server sends, and the catalog -------------------------------------

const REQUEST_ID = /^req_[A-Za-z0-9_-]{16}$/;
const isInstant = (v: unknown): v is string => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v);
const sameInstant = (a: unknown, b: unknown) => isInstant(a) && isInstant(b) && Date.parse(a) === Date.parse(b);

/** Problem examples as the server writes them (packages/openapi-http problem.ts). */
export function problemViolations(sites: ExampleSite[], problems: Map<string, { status: number; title: string }>): string[] {
  const out: string[] = [];
  for (const site of sites) {
    if (site.kind !== 'response' || site.mediaType !== 'application/problem+json') continue;
    const p = site.value as Json;
    const say = (m: string) => out.push(`${site.where}: ${m}`);
    const known = problems.get(p?.code);
    if (!known) {
      say(`code '${p?.code}' is not one the server sends (${[...problems.keys()].join(', ')})`);
      continue;
    }
    if (String(p.status) !== site.status) say(`status ${p.status} is documented under ${site.status}`);
    if (known.status !== p.status) say(`the server sends ${p.code} with status ${known.status}, not ${p.status}`);
    if (p.title !== known.title) say(`the server titles ${p.code} '${known.title}', not '${p.title}'`);
    const type = `https://patchbay.dev/problems/${String(p.code).replaceAll('_', '-')}`;
    if (p.type !== type) say(`type must be ${type}`);
    if (!REQUEST_ID.test(String(p.request_id))) say(`request_id '${p.request_id}' is not one the server makes (req_ and 16 base64url characters)`);
    if (typeof p.detail !== 'string' || p.detail.length === 0) say('has no detail');
    const counted = /^(\d+) (field is|fields are) invalid$/.exec(p.detail ?? '');
    if (counted) {
      const n = Number(counted[1]);
      if (n !== (p.errors ?? []).length) say(`detail says ${n} but errors lists ${(p.errors ?? []).length}`);
      if ((n === 1) !== (counted[2] === 'field is')) say(`detail '${p.detail}' is not the server's wording ('1 field is invalid', '2 fields are invalid')`);
    }
    if (p.code === 'validation_failed' && !(Array.isArray(p.errors) && p.errors.length > 0)) say('a validation_failed problem lists its errors');
    for (const e of p.errors ?? []) {
      if (typeof e.pointer !== 'string' || !/^\/((query|path|header)(\/|$))?/.test(e.pointer)) say(`pointer '${e.pointer}' is not a JSON Pointer into the request`);
      if (/^\/header\/.*[A-Z]/.test(e.pointer ?? '')) say(`header pointer '${e.pointer}' must be lowercase, as the server writes it`);
    }
    if (p.instance !== undefined) {
      if (!pathPattern(site.path!).test(p.instance)) say(`instance '${p.instance}' is not a path of ${site.path} (a problem shared by several operations must leave instance out)`);
    }
  }
  return out;
}

/** Every documented response with a body has an example, so the mock can answer any status. */
export function coverageViolations(bundles: Bundle[], sites: ExampleSite[]): string[] {
  const out: string[] = [];
  const has = new Set(sites.map((s) => `${s.api} ${s.operationId} ${s.kind} ${s.status ?? ''} ${s.mediaType ?? ''}`));
  for (const { name, document } of bundles) {
    for (const operation of operationsOf(document, name)) {
      const label = `${name} ${operation.method.toUpperCase()} ${operation.path}`;
      for (const { status, content } of Object.values(operation.responses)) {
        for (const mediaType of Object.keys(content)) {
          if (!has.has(`${name} ${operation.operationId} response ${status} ${mediaType}`)) out.push(`${label} ${status} ${mediaType}: has no example`);
        }
      }
      for (const mediaType of Object.keys(operation.requestBody?.content ?? {})) {
        if (!has.has(`${name} ${operation.operationId} request  ${mediaType}`)) out.push(`${label} requestBody ${mediaType}: has no example`);
      }
    }
  }
  return out;
}

/** Named examples carry a summary (the docs and `Prefer: example=` list them by it). */
export function summaryViolations(bundles: Bundle[]): string[] {
  const out: string[] = [];
  for (const { name, document } of bundles) {
    const visit = (node: Json, pointer: string): void => {
      if (!node || typeof node !== 'object') return;
      if (node.examples && typeof node.examples === 'object' && !Array.isArray(node.examples) && (node.schema || node.content === undefined) && !('type' in node)) {
        for (const [key, example] of Object.entries(node.examples)) {
          const resolved = deref(document, example, child(pointer, 'examples', key)).node;
          if (typeof resolved?.summary !== 'string' || resolved.summary.length < 3) out.push(`${name} ${pointer}/examples/${key}: a named example needs a summary`);
        }
      }
      for (const [key, value] of Object.entries(node)) if (key !== 'examples' && key !== 'example' && key !== 'schema') visit(value, child(pointer, key));
    };
    visit(document.paths, '#/paths');
    visit(document.components?.responses, '#/components/responses');
    visit(document.components?.parameters, '#/components/parameters');
  }
  return out;
}

// ---- 3. secrets --------------------------------------------------------------------------

/** A string shaped like a credential of a provider we know, or like one of our keys. */
const SECRET_SHAPES = [/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{8,}/, /\bwhsec_[A-Za-z0-9]{8,}/, /\bpb_[A-Za-z0-9_-]{20,}/, /\bAKIA[0-9A-Z]{16}\b/, /\bSG\.[A-Za-z0-9_-]{16,}/];
const PLACEHOLDER = /EXAMPLE/;

function strings(value: unknown, path: string, visit: (path: string, key: string | undefined, value: string) => void, key?: string): void {
  if (typeof value === 'string') visit(path, key, value);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}/${i}`, visit, key));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) strings(v, `${path}/${escape(k)}`, visit, k);
}

/** No example carries a real-looking secret; request credentials are obvious placeholders; no
 * response echoes one; no response carries `credentials`. */
export function secretViolations(sites: ExampleSite[], isSecretName: (name: string) => boolean): string[] {
  const out: string[] = [];
  const sent = new Set<string>();
  for (const site of sites) {
    if (site.kind === 'request') {
      const credentials = (site.value as Json)?.credentials;
      strings(credentials, '/credentials', (path, _key, value) => {
        sent.add(value);
        if (!PLACEHOLDER.test(value)) out.push(`${site.where}: ${path} must be an obvious placeholder (contain EXAMPLE), not something that looks like a real secret`);
      });
    }
  }
  for (const site of sites) {
    strings(site.value, '', (path, key, value) => {
      if (SECRET_SHAPES.some((shape) => shape.test(value)) && !PLACEHOLDER.test(value)) out.push(`${site.where}: ${path || '/'} looks like a real secret; use a placeholder containing EXAMPLE`);
      if (site.kind === 'response' || site.kind === 'header') {
        if (sent.has(value)) out.push(`${site.where}: ${path} repeats a credential sent in a request example; responses never carry secrets`);
        if (key !== undefined && isSecretName(key) && !PLACEHOLDER.test(value)) out.push(`${site.where}: ${path} is named like a secret and holds something that is not a placeholder`);
      }
    });
    if (site.kind === 'response') {
      const visit = (v: unknown, path: string): void => {
        if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}/${i}`));
        else if (v && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            if (k === 'credentials') out.push(`${site.where}: ${path}/credentials: a response never carries credentials`);
            visit(x, `${path}/${escape(k)}`);
          }
        }
      };
      visit(site.value, '');
    }
  }
  return out;
}

// ---- 4. one cast, one story ----------------------------------------------------------------

const ID = /\b(conn|ten|key|evt|run)_[0-9a-z]{26}\b/g;
const CROCKFORD_ID = /^(conn|ten|key|evt|run)_[0-9abcdefghjkmnpqrstvwxyz]{26}$/;

/** The resources the examples describe, by kind, from the examples whose schema is that resource's. */
export interface Cast {
  connections: Map<string, Json[]>;
  tenants: Map<string, Json[]>;
  keys: Map<string, Json[]>;
  events: Map<string, Json[]>;
  runs: Map<string, Json[]>;
}

/** Responses that carry resources as members: a rotation's new and previous key. */
const MEMBERS: Record<string, [keyof Cast, string[]]> = {
  ApiKeyRotated: ['keys', ['new_key', 'previous_key']],
  PlatformKeyRotated: ['keys', ['new_key', 'previous_key']],
};

const ITEMS: Record<string, [keyof Cast, boolean]> = {
  Connection: ['connections', false],
  ConnectionList: ['connections', true],
  Tenant: ['tenants', false],
  TenantList: ['tenants', true],
  ApiKey: ['keys', false],
  ApiKeyCreated: ['keys', false],
  ApiKeyList: ['keys', true],
  PlatformKey: ['keys', false],
  PlatformKeyCreated: ['keys', false],
  PlatformKeyList: ['keys', true],
  ConnectionEventList: ['events', true],
  SyncRun: ['runs', false],
};

export function castOf(sites: ExampleSite[]): Cast {
  const cast: Cast = { connections: new Map(), tenants: new Map(), keys: new Map(), events: new Map(), runs: new Map() };
  for (const site of sites) {
    if (site.kind !== 'response' || !site.schemaName || !(site.schemaName in ITEMS || site.schemaName in MEMBERS)) continue;
    const [kind, isList] = ITEMS[site.schemaName] ?? [MEMBERS[site.schemaName]![0], false];
    const members = MEMBERS[site.schemaName]?.[1];
    const items = members ? members.map((name) => (site.value as Json)?.[name]) : isList ? ((site.value as Json)?.data ?? []) : [site.value];
    for (const item of items) {
      const id = (item as Json)?.id;
      if (typeof id !== 'string') continue;
      const list = cast[kind].get(id) ?? [];
      list.push({ ...(item as Json), __where: site.where });
      cast[kind].set(id, list);
    }
  }
  return cast;
}

const strip = (item: Json) => {
  const { __where, ...rest } = item;
  return rest;
};
const equal = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Json)[k])]));
  return v;
}

/** Whether `response` says what `request` asked for: every member sent is there, equal (times
 * as instants), objects possibly with more members (defaults, merges), `null` as cleared. */
function covers(request: unknown, response: unknown, path: string, out: string[]): void {
  if (request === null) {
    if (!(response === null || response === undefined || (Array.isArray(response) && response.length === 0) || (typeof response === 'object' && Object.keys(response as object).length === 0))) out.push(`${path || '/'} was cleared (null) but the response has ${JSON.stringify(response)}`);
  } else if (Array.isArray(request)) {
    if (!Array.isArray(response) || response.length !== request.length) out.push(`${path || '/'} is ${JSON.stringify(request)} in the request but ${JSON.stringify(response)} in the response`);
    else request.forEach((r, i) => covers(r, response[i], `${path}/${i}`, out));
  } else if (request && typeof request === 'object') {
    if (!response || typeof response !== 'object') out.push(`${path || '/'} is missing from the response`);
    else for (const [k, v] of Object.entries(request)) if (k !== 'credentials') covers(v, (response as Json)[k], `${path}/${escape(k)}`, out);
  } else if (!(request === response || sameInstant(request, response))) {
    out.push(`${path || '/'} is ${JSON.stringify(request)} in the request but ${JSON.stringify(response)} in the response`);
  }
}

/** Whether the catalog allows `field` of `provider` a last4 in its summary (decision 0027). */
const hinted = (provider: Json | undefined, field: string): boolean => provider?.credentials_schema?.properties?.[field]?.['x-patchbay-hint'] === 'last4';

export function castViolations(sites: ExampleSite[], catalog: Catalog): string[] {
  const out: string[] = [];
  const cast = castOf(sites);
  const providers = new Map(catalog.providers.map((p) => [p.slug as string, p]));
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);

  // Ids: the server's format, and only ids of the cast.
  const defined: Record<string, Map<string, Json[]>> = { conn: cast.connections, ten: cast.tenants, key: cast.keys, evt: cast.events, run: cast.runs };
  const referenced = new Set<string>();
  for (const site of sites) {
    strings(site.value, '', (path, _key, value) => {
      for (const m of value.matchAll(ID)) {
        referenced.add(m[0]);
        if (!CROCKFORD_ID.test(m[0])) out.push(`${site.where}: ${path || '/'}: ${m[0]} is not an id the server makes (lowercase Crockford base32: no i, l, o, u)`);
        if (!defined[m[1]!]!.has(m[0])) out.push(`${site.where}: ${path || '/'}: ${m[0]} is not one of the cast (no example describes it)`);
      }
    });
  }
  if (cast.tenants.size !== 1) out.push(`the examples describe ${cast.tenants.size} tenants (${[...cast.tenants.keys()].join(', ')}); they share one`);
  if (cast.connections.size > 6) out.push(`the examples describe ${cast.connections.size} connections; keep the cast small (at most 6)`);
  for (const site of sites) {
    if (site.kind !== 'response') continue;
    strings(site.value, '', (path, key, value) => {
      if (key === 'tenant_id' && !cast.tenants.has(value)) out.push(`${site.where}: ${path}: tenant ${value} is not the cast's tenant`);
      if (key === 'request_id' && !REQUEST_ID.test(value)) out.push(`${site.where}: ${path}: '${value}' is not a request id the server makes (req_ and 16 base64url characters)`);
    });
  }

  // Connections: one (id, version) is one state; what never changes is the same in every state.
  for (const [id, states] of cast.connections) {
    const [first] = states;
    for (const state of states) {
      const where = state.__where as string;
      if (!('credentials_summary' in state)) out.push(`${where}: connection ${id} has no credentials_summary`);
      for (const member of ['provider', 'created_at', 'created_by'] as const) {
        if (!equal(state[member], first[member])) out.push(`${where}: connection ${id} has ${member} ${JSON.stringify(state[member])}, elsewhere ${JSON.stringify(first[member])} (${first.__where})`);
      }
      const twin = states.find((s) => s.version === state.version && !equal(strip(s), strip(state)));
      if (twin) out.push(`${where}: connection ${id} at version ${state.version} differs from the same version in ${twin.__where}; a new state needs a new version`);
      if (Date.parse(state.updated_at) < Date.parse(state.created_at)) out.push(`${where}: connection ${id} was updated before it was created`);
      if (state.version === 1 && state.updated_at !== state.created_at) out.push(`${where}: connection ${id} at version 1 must have updated_at = created_at`);
      for (const [field, summary] of Object.entries(state.credentials_summary ?? {}) as [string, Json][]) {
        if (Date.parse(summary.updated_at) > Date.parse(state.updated_at)) out.push(`${where}: connection ${id}: credentials_summary.${field} changed after the connection's updated_at`);
      }
      for (const actor of [state.created_by, state.updated_by]) {
        if (actor?.type !== 'api_key') continue;
        const key = cast.keys.get(actor.id)?.[0];
        if (key && !key.scopes.some((s: string) => ['connections:write', 'credentials:write', 'admin'].includes(s))) out.push(`${where}: connection ${id} was written by ${actor.id}, a key without a write scope`);
      }
      if (state.status === 'archived' && (state.archived_at === null || Object.keys(state.credentials_summary ?? {}).length > 0 || state.enabled)) out.push(`${where}: archived connection ${id} must have archived_at, no credentials left and enabled false`);
      if (state.status !== 'archived' && state.archived_at !== null) out.push(`${where}: connection ${id} has archived_at but is ${state.status}`);
      if (state.status === 'error' && !state.last_error) out.push(`${where}: connection ${id} is in error without last_error`);

      const provider = providers.get(state.provider);
      if (!provider) {
        out.push(`${where}: connection ${id}: provider '${state.provider}' is not in the catalog`);
        continue;
      }
      if (!provider.environments.includes(state.environment)) out.push(`${where}: connection ${id}: ${state.provider} has no ${state.environment} environment`);
      const settings = ajv.compile(provider.settings_schema);
      if (!settings(state.settings)) out.push(...(settings.errors ?? []).map((e) => `${where}: connection ${id}: settings${e.instancePath} ${e.message} (specs/providers/${state.provider}.yaml)`));
      const fields = Object.keys(provider.credentials_schema.properties ?? {});
      for (const field of Object.keys(state.credentials_summary ?? {})) if (!fields.includes(field)) out.push(`${where}: connection ${id}: credentials_summary.${field} is not a credential of ${state.provider}`);
      for (const [field, summary] of Object.entries(state.credentials_summary ?? {}) as [string, Json][]) {
        if (summary.last4 !== null && !hinted(provider, field)) out.push(`${where}: connection ${id}: credentials_summary.${field}.last4 is ${JSON.stringify(summary.last4)}, but specs/providers/${state.provider}.yaml does not mark ${field} x-patchbay-hint: last4`);
      }
      const complete = (provider.credentials_schema.required ?? []).every((f: string) => f in (state.credentials_summary ?? {}));
      if (state.status === 'active' && !complete) out.push(`${where}: connection ${id} is active without every required credential of ${state.provider}; it would be pending_auth`);
      if (state.status === 'pending_auth' && complete) out.push(`${where}: connection ${id} is pending_auth with every required credential; it would be active`);
      const entities = new Map((provider.sync_entities as Json[]).map((e) => [e.name as string, e.directions as string[]]));
      for (const [entity, directions] of Object.entries(state.sync_config ?? {}) as [string, Json][]) {
        const offered = entities.get(entity);
        if (!offered) out.push(`${where}: connection ${id}: ${state.provider} does not sync ${entity}`);
        else for (const d of ['inbound', 'outbound']) if (directions[d] && !offered.includes(d)) out.push(`${where}: connection ${id}: ${state.provider} does not sync ${entity} ${d}`);
      }
    }
  }

  // Tenants and keys: one state per id, except a key's use, rotation (its end and successor) and revocation.
  for (const [kind, map, mutable] of [['tenant', cast.tenants, []], ['key', cast.keys, ['last_used_at', 'revoked_at', 'api_key', 'expires_at', 'replaced_by']]] as const) {
    for (const [id, states] of map) {
      const norm = (s: Json) => Object.fromEntries(Object.entries(strip(s)).filter(([k]) => !(mutable as readonly string[]).includes(k)));
      for (const state of states) if (!equal(norm(state), norm(states[0]))) out.push(`${state.__where}: ${kind} ${id} differs from ${states[0].__where}`);
      for (const state of states) if (state.tenant_id !== undefined && !cast.tenants.has(state.tenant_id)) out.push(`${state.__where}: ${kind} ${id} belongs to an unknown tenant`);
    }
  }
  for (const [id, states] of cast.keys) {
    for (const state of states) {
      if (state.api_key !== undefined && !String(state.api_key).startsWith(state.prefix)) out.push(`${state.__where}: key ${id}: prefix ${state.prefix} is not the start of the key`);
      if (state.prefix?.length !== 10) out.push(`${state.__where}: key ${id}: the server's prefix is the key's first 10 characters`);
    }
  }

  // Events: about cast connections, newest first, by cast keys; a complete trail has one event per version.
  for (const site of sites) {
    if (site.kind !== 'response' || site.schemaName !== 'ConnectionEventList') continue;
    const events = ((site.value as Json)?.data ?? []) as Json[];
    events.forEach((event, i) => {
      if (i > 0 && Date.parse(event.occurred_at) > Date.parse(events[i - 1].occurred_at)) out.push(`${site.where}: /data/${i} is newer than the event before it; events are newest first`);
      if (event.actor?.type === 'api_key' && !cast.keys.has(event.actor.id)) out.push(`${site.where}: /data/${i}: actor ${event.actor.id} is not one of the cast's keys`);
    });
    const connectionIds = new Set(events.map((e) => e.connection_id));
    if (connectionIds.size > 1) out.push(`${site.where}: one page of events is about one connection, not ${[...connectionIds].join(', ')}`);
    const created = events.find((e) => e.action === 'created');
    const connection = cast.connections.get(events[0]?.connection_id)?.find((c) => c.updated_at === events[0]?.occurred_at);
    if (created && (site.value as Json).next_cursor === null && connection && connection.version !== events.length) {
      out.push(`${site.where}: the whole trail of ${connection.id} has ${events.length} events but the connection is at version ${connection.version} (${connection.__where})`);
    }
    const states = cast.connections.get(created?.connection_id) ?? [];
    if (created && states.length && !states.some((s) => s.created_at === created.occurred_at)) out.push(`${site.where}: the created event of ${created.connection_id} is not at its created_at`);
  }

  // Sync runs: the connection they report is the connection at that moment, when an example shows it.
  for (const [id, runs] of cast.runs) {
    for (const run of runs) {
      const connection = cast.connections.get(run.connection_id)?.find((c) => c.updated_at === run.recorded_at);
      if (connection && (connection.status !== run.connection_status || connection.consecutive_failures !== run.consecutive_failures)) {
        out.push(`${run.__where}: run ${id} left ${run.connection_id} ${run.connection_status} with ${run.consecutive_failures} failures, but ${connection.__where} shows ${connection.status} with ${connection.consecutive_failures}`);
      }
    }
  }

  // A request example and the response example of the same name tell the same story.
  const byOperation = new Map<string, ExampleSite[]>();
  for (const site of sites) if (site.operationId) byOperation.set(site.operationId, [...(byOperation.get(site.operationId) ?? []), site]);
  for (const [, opSites] of byOperation) {
    const requests = opSites.filter((s) => s.kind === 'request');
    for (const response of opSites.filter((s) => s.kind === 'response' && /^2/.test(s.status ?? ''))) {
      const request = requests.find((r) => r.name === response.name) ?? (requests.length === 1 && opSites.filter((s) => s.kind === 'response' && s.status === response.status).length === 1 ? requests[0] : undefined);
      if (!request) continue;
      const problems: string[] = [];
      covers(request.value, response.value, '', problems);
      out.push(...problems.map((p) => `${response.where}: does not answer ${request.where}: ${p}`));
      const sent = (request.value as Json)?.credentials as Record<string, string> | undefined;
      const summary = (response.value as Json)?.credentials_summary as Record<string, Json> | undefined;
      if (sent && summary) {
        for (const [field, value] of Object.entries(sent)) {
          const s = summary[field];
          const marked = hinted(providers.get((response.value as Json).provider), field);
          const last4 = marked && value.length >= 12 ? value.slice(-4) : null;
          if (!s) out.push(`${response.where}: credentials_summary has no ${field}, sent by ${request.where}`);
          else if (s.last4 !== last4) out.push(`${response.where}: credentials_summary.${field}.last4 is ${JSON.stringify(s.last4)} but should be ${JSON.stringify(last4)} for the value sent (last4 only on a field marked x-patchbay-hint: last4, and only for 12+ characters)`);
          else if (s.updated_at !== (response.value as Json).updated_at) out.push(`${response.where}: credentials_summary.${field}.updated_at is not the connection's updated_at, though ${request.where} set it`);
        }
      }
    }
  }
  return out;
}

/** The examples of one operation's response, by name (a lone `example` is named ''). */
export function examplesOf(sites: ExampleSite[], operationId: string, status: string): Map<string, unknown> {
  return new Map(sites.filter((s) => s.operationId === operationId && s.kind === 'response' && s.status === status).map((s) => [s.name ?? '', s.value]));
}

/** What a reader of several operations expects to line up: what get and default-connection
 * show is in the list; a created tenant or key is in its list; providers are the catalog's. */
export function crossOperationViolations(sites: ExampleSite[], catalog: Catalog): string[] {
  const out: string[] = [];
  const firstOf = (operationId: string, status: string) => sites.find((s) => s.operationId === operationId && s.kind === 'response' && s.status === status && s.first);
  const inList = (operationId: string, status: string, listOp: string, strip: (v: Json) => Json = (v) => v, match: (a: Json, b: Json) => boolean = equal) => {
    const list = firstOf(listOp, '200');
    if (!list) return out.push(`${listOp} has no 200 example`);
    const data = ((list.value as Json)?.data ?? []) as Json[];
    for (const [name, value] of examplesOf(sites, operationId, status)) {
      if (!data.some((item) => match(item, strip(value)))) out.push(`${operationId} ${status} ${name ? `examples.${name}` : 'example'} is not, verbatim, in ${list.where}`);
    }
  };
  inList('getConnection', '200', 'listConnections');
  inList('getDefaultProviderConnection', '200', 'listConnections');
  inList('createTenant', '201', 'listTenants');
  inList('createApiKey', '201', 'listApiKeys', ({ api_key, ...key }) => key);
  inList('revokeApiKey', '200', 'listApiKeys', (v) => v, (a, b) => a.id === b.id && a.created_at === b.created_at && a.name === b.name);

  const list = firstOf('listConnections', '200');
  const data = ((list?.value as Json)?.data ?? []) as Json[];
  data.forEach((c, i) => {
    if (i > 0 && Date.parse(c.created_at) > Date.parse(data[i - 1].created_at)) out.push(`${list!.where}: /data/${i} is newer than the one before; the default sort is -created_at`);
    if (c.status === 'archived') out.push(`${list!.where}: /data/${i} is archived; the default list leaves archived connections out`);
  });
  const defaults = sites.filter((s) => s.operationId === 'getDefaultProviderConnection' && s.kind === 'response' && s.status === '200');
  for (const site of defaults) {
    const chosen = site.value as Json;
    const rivals = data.filter((c) => c.provider === chosen.provider && c.environment === chosen.environment && c.enabled && c.status === 'active' && c.id !== chosen.id);
    const better = rivals.find((c) => c.priority > chosen.priority || (c.priority === chosen.priority && Date.parse(c.created_at) < Date.parse(chosen.created_at)));
    if (better) out.push(`${site.where}: ${better.id} would be the default (higher priority, or older at the same priority)`);
    if (!chosen.enabled || chosen.status !== 'active') out.push(`${site.where}: a default connection is enabled and active`);
  }

  const catalogBySlug = new Map(catalog.providers.map((p) => [p.slug as string, p]));
  for (const site of sites) {
    if (site.kind !== 'response' || (site.schemaName !== 'Provider' && site.schemaName !== 'ProviderList')) continue;
    const providers = site.schemaName === 'Provider' ? [site.value] : ((site.value as Json)?.data ?? []);
    for (const provider of providers as Json[]) {
      const entry = catalogBySlug.get(provider?.slug);
      if (!entry) out.push(`${site.where}: provider '${provider?.slug}' is not in the catalog`);
      else if (!equal(provider, entry)) out.push(`${site.where}: provider '${provider.slug}' is not what specs/providers/${provider.slug}.yaml says (GET /v1/providers/${provider.slug} answers that)`);
    }
  }
  return out;
}
