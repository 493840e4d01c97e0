// The stateful mock (issue 16): an in-memory store of connections and their events, one per
// API key, seeded from the spec's examples, changed by the server's rules that need no
// database: versions and ETags, If-Match (412), references unique per environment (409),
// the status lifecycle (409 with allowed_transitions), credentials completeness, sync-run
// health, keyset cursors bound to their filters and sort. Credentials are never kept: a write
// that carries them leaves only their summary (set, last 4, fingerprint, updated_at).
//
// What it does not do (the server does): scopes (every key has every scope), a 409 for a
// request still in flight with the same Idempotency-Key (the mock answers each at once).
//
// Browser-safe: no Node module; used by the mock process and by the MSW handlers.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule.default ?? addFormatsModule;

/** From each status, the statuses a caller may request (the server's modules/connections/status.ts). */
export const REQUESTABLE_TRANSITIONS = {
  pending_auth: ['disabled'],
  active: ['disabled'],
  error: ['active', 'disabled'],
  disabled: ['active'],
  archived: [],
};
const FAILURES_BEFORE_ERROR = 3;

/** Bounds that keep a mock left running for weeks small. */
export const DEFAULT_LIMITS = { keys: 50, connectionsPerKey: 500, eventsPerConnection: 200, repliesPerKey: 200 };

/** The operations that take an Idempotency-Key and change the store. */
const IDEMPOTENT = new Set(['createConnection', 'reportSyncRun']);

/** JSON with object keys sorted, so that key order does not change a request's hash. */
function canonicalJson(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
    .join(',')}}`;
}

const SORTS = new Set(['created_at', 'updated_at', 'name', 'priority']);
/** The tenant of the examples: a mock key's sessions belong to it (unless the create asked for a new one). */
const MOCK_TENANT_ID = 'ten_01jd5qa0b2c4e6g8j0k2m4n6p8';
/** include_total counts exactly up to this many matches, as the server does by default (PATCHBAY_TOTAL_COUNT_CAP). */
const TOTAL_COUNT_CAP = 1000;
const SCALARS = ['reference', 'name', 'description', 'environment', 'enabled', 'priority', 'status_message'];
const NULL_CLEARS = new Set(['reference', 'description', 'status_message']);
const MAPS = ['settings', 'sync_config', 'metadata'];

/** An expected failure; the adapters turn it into the server's problem document. */
export class MockProblem extends Error {
  constructor(code, detail, errors, extensions = {}) {
    super(detail);
    this.code = code;
    this.detail = detail;
    this.errors = errors;
    this.extensions = extensions;
  }
}

// ---- ids, cursors, fingerprints ---------------------------------------------------------

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
let lastTime = 0;
let counter = 0;
/** `conn_...`: ULID layout like the server's ids, monotonic within one millisecond. */
function newId(prefix, now = Date.now()) {
  if (now <= lastTime) counter++;
  else {
    lastTime = now;
    counter = Math.floor(Math.random() * 2 ** 40);
  }
  let time = '';
  for (let i = 0, t = lastTime; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  let random = '';
  for (let i = 0, c = counter; i < 16; i++, c = Math.floor(c / 32)) random = ALPHABET[c % 32] + random;
  return `${prefix}_${time}${random}`;
}

/** FNV-1a, 64 bits, as 16 hex digits: a fingerprint that is stable for one key and one value,
 * and from which the value cannot be read back. The value itself is never kept. */
function fingerprint(value, salt) {
  let hash = 0xcbf29ce484222325n;
  for (const char of `${salt}\u0000${value}`) {
    hash ^= BigInt(char.codePointAt(0));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

const toBase64Url = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const fromBase64Url = (text) => new TextDecoder().decode(Uint8Array.from(atob(text.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0)));
/** The server's cursor format (platform/cursors.ts): base64url JSON tagged with its list. */
const encodeCursor = (list, position) => toBase64Url(JSON.stringify({ l: list, p: position }));
function decodeCursor(cursor, list) {
  try {
    const parsed = JSON.parse(fromBase64Url(cursor));
    return parsed.l === list && parsed.p && typeof parsed.p === 'object' ? parsed.p : undefined;
  } catch {
    return undefined;
  }
}
const invalidCursor = (detail = 'The cursor does not belong to this list.') =>
  new MockProblem('validation_failed', detail, [{ pointer: '/query/cursor', message: 'is not a valid cursor for this query' }]);

// ---- merge patch and drafts ---------------------------------------------------------------

function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}
const changedKeys = (prefix, before, after) =>
  [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${prefix}.${k}`)
    .sort();
const links = (list) => list.map((l) => ({ object_type: l.object_type, object_id: l.object_id, status: l.status ?? 'active', status_message: l.status_message ?? null }));

function draftFromBody(body, provider) {
  return {
    reference: body.reference ?? null,
    name: body.name ?? provider.name,
    description: body.description ?? null,
    environment: body.environment ?? 'production',
    enabled: body.enabled ?? true,
    priority: body.priority ?? 0,
    settings: body.settings ?? {},
    sync_config: body.sync_config ?? {},
    metadata: body.metadata ?? {},
    tags: body.tags ?? [],
    linked_resources: links(body.linked_resources ?? []),
    status_message: body.status_message ?? null,
  };
}
const draftOf = (c) => Object.fromEntries([...SCALARS, ...MAPS, 'tags', 'linked_resources'].map((k) => [k, c[k]]));

function applyPatch(before, patch) {
  const draft = { ...before };
  for (const key of SCALARS) if (key in patch) draft[key] = patch[key] ?? (NULL_CLEARS.has(key) ? null : before[key]);
  for (const key of MAPS) if (key in patch) draft[key] = patch[key] === null ? {} : mergePatch(before[key], patch[key]);
  if ('tags' in patch) draft.tags = patch.tags ?? [];
  if ('linked_resources' in patch) draft.linked_resources = links(patch.linked_resources ?? []);
  return draft;
}

const settleStatus = (status, complete) => (status === 'active' && !complete ? 'pending_auth' : status === 'pending_auth' && complete ? 'active' : status);
const canRequest = (from, to) => from === to || REQUESTABLE_TRANSITIONS[from].includes(to);

function transitionConflict(from, to) {
  const allowed = REQUESTABLE_TRANSITIONS[from];
  return new MockProblem('conflict', `A ${from} connection cannot be set to ${to}${allowed.length ? `; allowed: ${allowed.join(', ')}` : ''}.`, [{ pointer: '/status', message: `cannot go from ${from} to ${to}` }], {
    allowed_transitions: allowed,
  });
}
const notFound = (id) => new MockProblem('not_found', `No connection ${id} in this tenant.`);
const versionMismatch = (expected, current) =>
  new MockProblem('version_mismatch', `If-Match is "${expected}" but the connection is at version ${current}; read it again and retry.`, undefined, { current_version: current });
const archivedConflict = (id) => new MockProblem('conflict', `Connection ${id} is archived and can no longer change.`, undefined, { allowed_transitions: [] });

/** RFC 9110 13.1.1 as the server reads it: strong tags of our versions, or `*`. */
function checkIfMatch(header, current) {
  if (header === undefined) return;
  if (header.trim() === '*') return;
  const versions = [...header.matchAll(/(W\/)?"([^"]*)"/g)].filter((m) => !m[1] && /^\d{1,15}$/.test(m[2])).map((m) => Number(m[2]));
  if (!versions.includes(current.version)) throw versionMismatch(versions[0] ?? header, current.version);
}

// ---- one key's data -------------------------------------------------------------------------

/**
 * The store of every key: each key's connections and events, seeded on first use from the
 * examples, the least recently used key dropped beyond `limits.keys`.
 * @param {{ connections: object[], events: object[], providers: object[], limits?: Partial<typeof DEFAULT_LIMITS> }} seed
 */
export function createStore({ connections, events, providers, limits = {} }) {
  const bounds = { ...DEFAULT_LIMITS, ...limits };
  const catalog = new Map(providers.map((p) => [p.slug, p]));
  const tenants = new Map();

  function tenantOf(key) {
    let tenant = tenants.get(key);
    if (tenant) {
      tenants.delete(key); // re-inserted below: Map order is recency
    } else {
      tenant = {
        connections: new Map(connections.map((c) => [c.id, structuredClone(c)])),
        events: new Map(),
        replies: new Map(),
        connectSessions: new Map(),
        actor: { type: 'api_key', id: `key_${fingerprint(key, 'key id').padEnd(26, '0')}` },
      };
      for (const event of events) {
        const list = tenant.events.get(event.connection_id) ?? [];
        list.push(structuredClone(event));
        tenant.events.set(event.connection_id, list);
      }
      if (tenants.size >= bounds.keys) tenants.delete(tenants.keys().next().value);
    }
    tenants.set(key, tenant);
    return tenant;
  }

  // Each provider's settings and credentials schemas, compiled once (the server's
  // modules/providers/validation.ts): the same Ajv options, the same messages.
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validators = new Map(
    providers.map((p) => [
      p.slug,
      {
        credentials: ajv.compile(p.credentials_schema ?? {}),
        partialCredentials: ajv.compile({ ...(p.credentials_schema ?? {}), required: [] }),
        settings: ajv.compile(p.settings_schema ?? {}),
      },
    ]),
  );
  /** Ajv errors as field issues under a body member; values are never quoted. */
  const toFieldIssues = (errors, base) =>
    (errors ?? []).map((e) => {
      const member = e.params?.missingProperty ?? e.params?.additionalProperty;
      const message = e.keyword === 'required' ? 'is required' : e.keyword === 'additionalProperties' ? 'is not a field of this provider' : (e.message ?? 'is invalid');
      return { pointer: `${base}${e.instancePath}${member ? `/${member}` : ''}`, message };
    });
  function credentialIssues(provider, credentials, mode) {
    const validate = validators.get(provider.slug)?.[mode === 'full' ? 'credentials' : 'partialCredentials'];
    return !validate || validate(credentials) ? [] : toFieldIssues(validate.errors, '/credentials');
  }

  const providerOf = (slug, pointer = '/provider') => {
    const provider = catalog.get(slug);
    if (!provider) throw new MockProblem('validation_failed', '1 field is invalid', [{ pointer, message: 'is not a provider in the catalog (see GET /v1/providers)' }]);
    return provider;
  };
  const requiredCredentials = (provider) => provider.credentials_schema?.required ?? [];
  const completeWith = (provider, names) => requiredCredentials(provider).every((n) => names.includes(n));

  /** A draft's members against its provider: sync_config by the entities and directions it syncs. */
  function draftIssues(provider, draft) {
    const issues = [];
    const settings = validators.get(provider.slug)?.settings;
    if (settings && !settings(draft.settings)) issues.push(...toFieldIssues(settings.errors, '/settings'));
    const entities = new Map((provider.sync_entities ?? []).map((e) => [e.name, new Set(e.directions)]));
    for (const [entity, directions] of Object.entries(draft.sync_config)) {
      const offered = entities.get(entity);
      if (!offered) {
        issues.push({ pointer: `/sync_config/${entity}`, message: `is not an entity ${provider.slug} syncs (${[...entities.keys()].join(', ') || 'none'})` });
        continue;
      }
      for (const direction of ['inbound', 'outbound']) {
        if (directions[direction] && !offered.has(direction)) issues.push({ pointer: `/sync_config/${entity}/${direction}`, message: `${provider.slug} does not sync ${entity} ${direction}` });
      }
    }
    const seen = new Set();
    draft.linked_resources.forEach((link, index) => {
      const key = `${link.object_type}\u0000${link.object_id}`;
      if (seen.has(key)) issues.push({ pointer: `/linked_resources/${index}`, message: `links ${link.object_type} ${link.object_id} twice` });
      seen.add(key);
    });
    return issues;
  }
  const invalid = (issues) => {
    const n = new Set(issues.map((i) => i.pointer)).size;
    return new MockProblem('validation_failed', `${n} ${n === 1 ? 'field is' : 'fields are'} invalid`, issues);
  };

  /** Per field: set, last 4 (the server's rule: only a field the provider's credentials_schema
   * marks `x-patchbay-hint: last4`, and only a value of 12+ characters), fingerprint; the value is dropped here. */
  function summarise(provider, key, credentials, previous, now) {
    const properties = provider.credentials_schema?.properties ?? {};
    return Object.fromEntries(
      Object.entries(credentials).map(([name, value]) => {
        const print = fingerprint(String(value), key);
        const same = previous[name]?.fingerprint === print;
        const hinted = properties[name]?.['x-patchbay-hint'] === 'last4' && String(value).length >= 12;
        return [name, { set: true, last4: hinted ? String(value).slice(-4) : null, fingerprint: print, updated_at: same ? previous[name].updated_at : now }];
      }),
    );
  }

  function referenceHolder(tenant, draft, exceptId) {
    if (draft.reference === null) return undefined;
    return [...tenant.connections.values()].find((c) => c.id !== exceptId && c.status !== 'archived' && c.reference === draft.reference && c.environment === draft.environment);
  }
  function checkReference(tenant, draft, exceptId) {
    const holder = referenceHolder(tenant, draft, exceptId);
    if (holder) {
      throw new MockProblem('conflict', `A connection with reference '${draft.reference}' already exists in ${draft.environment}.`, [{ pointer: '/reference', message: `is already used by ${holder.id}` }]);
    }
  }

  function appendEvent(tenant, ctx, connectionId, action, changed, statusFrom, statusTo, at) {
    const list = tenant.events.get(connectionId) ?? [];
    list.push({ id: newId('evt'), connection_id: connectionId, action, actor: tenant.actor, changed_fields: changed, status_from: statusFrom, status_to: statusTo, request_id: ctx.requestId, occurred_at: at });
    list.sort((a, b) => (a.occurred_at === b.occurred_at ? (a.id < b.id ? 1 : -1) : a.occurred_at < b.occurred_at ? 1 : -1));
    if (list.length > bounds.eventsPerConnection) list.length = bounds.eventsPerConnection;
    tenant.events.set(connectionId, list);
  }

  const found = (tenant, id) => {
    const c = tenant.connections.get(id);
    if (!c) throw notFound(id);
    return c;
  };
  const reply = (status, connection) => ({ status, body: structuredClone(connection), headers: { ETag: `"${connection.version}"`, ...(status === 201 ? { Location: `/v1/connections/${connection.id}` } : {}) } });

  // ---- use cases ------------------------------------------------------------------------

  /** `disabled`: an upsert asking for it creates the connection disabled, with one event. */
  function create(tenant, ctx, providerSlug, draft, credentials, { disabled = false } = {}) {
    const provider = providerOf(providerSlug);
    const given = credentials ?? {};
    const issues = [...draftIssues(provider, draft), ...credentialIssues(provider, given, 'partial')];
    if (issues.length) throw invalid(issues);
    checkReference(tenant, draft);
    if (tenant.connections.size >= bounds.connectionsPerKey) {
      throw new MockProblem('conflict', `The mock keeps at most ${bounds.connectionsPerKey} connections per API key; reset it with DELETE /_mock/state.`);
    }
    const now = new Date().toISOString();
    const status = disabled ? 'disabled' : settleStatus('active', completeWith(provider, Object.keys(given)));
    const connection = {
      id: newId('conn'),
      provider: provider.slug,
      reference: draft.reference,
      name: draft.name,
      description: draft.description,
      environment: draft.environment,
      status,
      status_message: draft.status_message,
      enabled: draft.enabled,
      priority: draft.priority,
      settings: draft.settings,
      credentials_summary: summarise(provider, ctx.key, given, {}, now),
      sync_config: draft.sync_config,
      metadata: draft.metadata,
      tags: draft.tags,
      linked_resources: draft.linked_resources,
      last_sync_at: null,
      last_error: null,
      consecutive_failures: 0,
      created_at: now,
      created_by: tenant.actor,
      updated_at: now,
      updated_by: tenant.actor,
      archived_at: null,
      version: 1,
    };
    tenant.connections.set(connection.id, connection);
    const changed = [...Object.keys(draft).filter((k) => k !== 'status_message'), ...Object.keys(given).map((k) => `credentials.${k}`)].sort();
    appendEvent(tenant, ctx, connection.id, 'created', changed, null, status, now);
    return connection;
  }

  /** The server's write path: 404, If-Match, archived, then the planned change. */
  function write(tenant, ctx, id, plan) {
    const current = found(tenant, id);
    checkIfMatch(ctx.ifMatch, current);
    if (current.status === 'archived') throw archivedConflict(id);
    const change = plan(current);
    if (change.changed.length === 0) return current;
    checkReference(tenant, change.draft, id);
    const now = new Date().toISOString();
    const next = { ...current, ...change.draft, status: change.status, updated_at: now, updated_by: tenant.actor, version: current.version + 1 };
    if (change.summary) next.credentials_summary = change.summary;
    tenant.connections.set(id, next);
    const statusFrom = change.status !== current.status ? current.status : null;
    const onlyStatus = change.changed.every((f) => f === 'status' || f === 'status_message');
    appendEvent(tenant, ctx, id, statusFrom && change.action === 'updated' && onlyStatus ? 'status_changed' : change.action, change.changed, statusFrom, statusFrom ? change.status : null, now);
    return next;
  }

  /** The server's planChange: transition first, then the members, then what changed. */
  /** `credentials`: the values the request sets (undefined: keep the stored summary); `kept`:
   * the stored summaries that stay beside them (a merge patch leaves the others alone). */
  function planChange(ctx, current, request, credentials, action, kept = {}) {
    const provider = providerOf(current.provider);
    const before = draftOf(current);
    const draft = request.kind === 'patch' ? applyPatch(before, request.patch) : request.kind === 'replace' ? request.draft : before;
    const requested = request.kind === 'patch' ? request.patch.status : request.kind === 'replace' ? request.status : undefined;
    if (request.kind !== 'credentials') {
      const issues = draftIssues(provider, draft);
      if (credentials !== undefined) issues.push(...credentialIssues(provider, credentials, 'partial'));
      if (requested !== undefined && !canRequest(current.status, requested)) throw transitionConflict(current.status, requested);
      if (issues.length) throw invalid(issues);
    }
    const changed = [];
    for (const key of ['reference', 'name', 'description', 'environment', 'enabled', 'priority', 'tags', 'linked_resources', 'status_message']) {
      if (JSON.stringify(before[key]) !== JSON.stringify(draft[key])) changed.push(key);
    }
    for (const key of MAPS) changed.push(...changedKeys(key, before[key], draft[key]));
    const plan = { draft, status: current.status, action, changed };
    let names = Object.keys(current.credentials_summary);
    if (credentials !== undefined) {
      const summary = { ...kept, ...summarise(provider, ctx.key, credentials, current.credentials_summary, new Date().toISOString()) };
      const fields = new Set([...Object.keys(summary), ...Object.keys(current.credentials_summary)]);
      const credentialChanges = [...fields].filter((f) => summary[f]?.fingerprint !== current.credentials_summary[f]?.fingerprint).map((f) => `credentials.${f}`);
      if (credentialChanges.length) {
        changed.push(...credentialChanges.sort());
        plan.summary = summary;
      }
      names = Object.keys(summary);
    }
    plan.status = settleStatus(requested ?? current.status, completeWith(provider, names));
    if (plan.status !== current.status) changed.push('status');
    return plan;
  }

  /** PATCH: a merge patch of `credentials` sets the fields it gives, removes those it nulls
   * (all of them with `null`), and leaves the others' summaries as they are. */
  function update(tenant, ctx, id, patch) {
    return write(tenant, ctx, id, (current) => {
      if (!('credentials' in patch)) return planChange(ctx, current, { kind: 'patch', patch }, undefined, 'updated');
      const given = Object.fromEntries(Object.entries(patch.credentials ?? {}).filter(([, v]) => v !== null));
      const kept = patch.credentials === null ? {} : Object.fromEntries(Object.entries(current.credentials_summary).filter(([name]) => !(name in patch.credentials)));
      return planChange(ctx, current, { kind: 'patch', patch }, given, 'updated', kept);
    });
  }

  function listFilterKey(query, sort) {
    return JSON.stringify([query.provider, query.status, query.environment, query.enabled, query.tag, query.q, query.linked_object_type, query.linked_object_id, sort]);
  }

  const operations = {
    listConnections(tenant, ctx) {
      const q = ctx.query;
      const sort = q.sort ?? '-created_at';
      const descending = sort.startsWith('-');
      const column = sort.replace(/^-/, '');
      if (!SORTS.has(column)) throw new MockProblem('validation_failed', '1 field is invalid', [{ pointer: '/query/sort', message: 'is not a sort' }]);
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      const asList = (v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
      const filter = {
        provider: q.provider,
        status: asList(q.status),
        environment: q.environment,
        enabled: q.enabled === undefined ? undefined : q.enabled === true || q.enabled === 'true',
        tag: asList(q.tag),
        q: q.q,
        linked_object_type: q.linked_object_type,
        linked_object_id: q.linked_object_id,
      };
      const filterKey = listFilterKey(filter, sort);
      let after;
      if (q.cursor !== undefined) {
        const position = decodeCursor(String(q.cursor), 'connections');
        if (!position || position.f !== filterKey || typeof position.id !== 'string') throw invalidCursor('The cursor does not belong to this list with these filters and this sort.');
        after = position;
      }
      const text = filter.q?.toLowerCase();
      const matches = [...tenant.connections.values()].filter(
        (c) =>
          (filter.status ? filter.status.includes(c.status) : c.status !== 'archived') &&
          (filter.provider === undefined || c.provider === filter.provider) &&
          (filter.environment === undefined || c.environment === filter.environment) &&
          (filter.enabled === undefined || c.enabled === filter.enabled) &&
          (!filter.tag || filter.tag.every((t) => c.tags.includes(t))) &&
          (text === undefined || c.name.toLowerCase().includes(text) || (c.reference ?? '').toLowerCase().includes(text)) &&
          (filter.linked_object_type === undefined && filter.linked_object_id === undefined
            ? true
            : c.linked_resources.some((l) => (filter.linked_object_type === undefined || l.object_type === filter.linked_object_type) && (filter.linked_object_id === undefined || l.object_id === filter.linked_object_id))),
      );
      const compare = (a, b) => {
        const va = a[column];
        const vb = b[column];
        const byValue = va < vb ? -1 : va > vb ? 1 : 0;
        const order = byValue || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
        return descending ? -order : order;
      };
      matches.sort(compare);
      const start = after ? matches.filter((c) => compare(c, { [column]: after.v, id: after.id }) > 0) : matches;
      const data = start.slice(0, limit);
      const last = data.at(-1);
      const body = {
        data: structuredClone(data),
        next_cursor: start.length > limit && last ? encodeCursor('connections', { f: filterKey, v: last[column], id: last.id }) : null,
        ...(q.include_total === true || q.include_total === 'true'
          ? { total_count: Math.min(matches.length, TOTAL_COUNT_CAP), total_count_capped: matches.length > TOTAL_COUNT_CAP }
          : {}),
      };
      return { status: 200, body };
    },

    getConnection: (tenant, ctx) => reply(200, found(tenant, ctx.params.connectionId)),

    createConnection(tenant, ctx) {
      const body = ctx.body;
      const provider = providerOf(body.provider);
      return reply(201, create(tenant, ctx, provider.slug, draftFromBody(body, provider), body.credentials));
    },

    updateConnection: (tenant, ctx) => reply(200, update(tenant, ctx, ctx.params.connectionId, ctx.body)),

    replaceConnection(tenant, ctx) {
      const id = ctx.params.connectionId;
      return reply(
        200,
        write(tenant, ctx, id, (current) => {
          if (ctx.body.provider !== undefined && ctx.body.provider !== current.provider) throw invalid([{ pointer: '/provider', message: `cannot change: this is a ${current.provider} connection` }]);
          const provider = providerOf(current.provider);
          return planChange(ctx, current, { kind: 'replace', draft: draftFromBody(ctx.body, provider), status: ctx.body.status }, ctx.body.credentials, 'replaced');
        }),
      );
    },

    replaceConnectionCredentials(tenant, ctx) {
      const credentials = ctx.body.credentials ?? ctx.body;
      return reply(
        200,
        write(tenant, ctx, ctx.params.connectionId, (current) => {
          const issues = credentialIssues(providerOf(current.provider), credentials, 'full');
          if (issues.length) throw invalid(issues);
          const plan = planChange(ctx, current, { kind: 'credentials' }, credentials, 'credentials_replaced');
          if (plan.changed.length === 0) plan.changed = Object.keys(credentials).map((k) => `credentials.${k}`).sort();
          return plan;
        }),
      );
    },

    archiveConnection(tenant, ctx) {
      const id = ctx.params.connectionId;
      const current = found(tenant, id);
      checkIfMatch(ctx.ifMatch, current);
      if (current.status === 'archived') return reply(200, current);
      const now = new Date().toISOString();
      const next = { ...current, status: 'archived', enabled: false, archived_at: now, credentials_summary: {}, updated_at: now, updated_by: tenant.actor, version: current.version + 1 };
      tenant.connections.set(id, next);
      const changed = ['status', 'enabled', 'archived_at', ...Object.keys(current.credentials_summary).map((k) => `credentials.${k}`)];
      appendEvent(tenant, ctx, id, 'archived', changed, current.status, 'archived', now);
      return reply(200, next);
    },

    upsertProviderConnection(tenant, ctx) {
      const { slug, reference } = ctx.params;
      const provider = catalog.get(slug);
      if (!provider) throw new MockProblem('not_found', `No provider with slug '${slug}'.`);
      const body = ctx.body;
      const environment = body.environment ?? 'production';
      const existing = [...tenant.connections.values()].find((c) => c.status !== 'archived' && c.environment === environment && c.reference === reference);
      if (existing) {
        if (existing.provider !== slug) {
          throw new MockProblem('conflict', `Reference '${reference}' is used by a ${existing.provider} connection in ${environment}.`, [{ pointer: '/path/reference', message: `is used by ${existing.id}` }]);
        }
        return reply(200, update(tenant, ctx, existing.id, body));
      }
      if (ctx.ifMatch !== undefined) {
        throw new MockProblem('version_mismatch', `No connection with reference '${reference}' exists yet, so If-Match cannot match.`, undefined, { current_version: null });
      }
      const { status: requested, ...rest } = body;
      return reply(201, create(tenant, ctx, slug, draftFromBody({ name: provider.name, ...rest, reference, environment }, provider), body.credentials, { disabled: requested === 'disabled' }));
    },

    reportSyncRun(tenant, ctx) {
      const id = ctx.params.connectionId;
      const report = ctx.body;
      const current = found(tenant, id);
      const issues = [];
      if (report.outcome === 'failed' && !report.error) issues.push({ pointer: '/error', message: 'is required when the outcome is failed' });
      if (report.entity !== undefined) {
        const entity = (providerOf(current.provider).sync_entities ?? []).find((e) => e.name === report.entity);
        if (!entity) issues.push({ pointer: '/entity', message: `is not an entity ${current.provider} syncs` });
        else if (report.direction !== undefined && !entity.directions.includes(report.direction)) issues.push({ pointer: '/direction', message: `${current.provider} does not sync ${report.entity} ${report.direction}` });
      }
      if (issues.length) throw invalid(issues);
      if (current.status === 'archived') throw new MockProblem('conflict', `Connection ${id} is archived; it cannot record sync runs.`);
      const now = new Date().toISOString();
      const succeeded = report.outcome === 'succeeded';
      const failures = succeeded ? 0 : current.consecutive_failures + 1;
      let status = current.status;
      if (succeeded && status === 'error') status = 'active';
      if (!succeeded && status === 'active' && failures >= FAILURES_BEFORE_ERROR) status = 'error';
      const moved = status !== current.status;
      const runError = report.error ? { code: report.error.code ?? null, message: report.error.message, occurred_at: report.finished_at ? new Date(report.finished_at).toISOString() : now } : null;
      const next = {
        ...current,
        consecutive_failures: failures,
        status,
        status_message: moved ? (succeeded ? null : `${failures} sync runs failed in a row`) : current.status_message,
        ...(succeeded ? { last_sync_at: report.finished_at ? new Date(report.finished_at).toISOString() : now, last_error: null } : { last_error: runError }),
        updated_at: now,
        updated_by: tenant.actor,
        version: current.version + 1,
      };
      tenant.connections.set(id, next);
      const changed = succeeded ? ['last_sync_at', 'last_error', 'consecutive_failures'] : ['last_error', 'consecutive_failures'];
      if (moved) changed.push('status', 'status_message');
      appendEvent(tenant, ctx, id, succeeded ? 'sync_succeeded' : 'sync_failed', changed.sort(), moved ? current.status : null, moved ? status : null, now);
      const iso = (t) => (t ? new Date(t).toISOString() : null);
      return {
        status: 201,
        body: {
          id: newId('run'),
          connection_id: id,
          outcome: report.outcome,
          entity: report.entity ?? null,
          direction: report.direction ?? null,
          started_at: iso(report.started_at),
          finished_at: iso(report.finished_at),
          records_processed: report.records_processed ?? null,
          records_failed: report.records_failed ?? null,
          error: runError,
          connection_status: status,
          consecutive_failures: failures,
          recorded_at: now,
        },
      };
    },

    listConnectionEvents(tenant, ctx) {
      const id = ctx.params.connectionId;
      found(tenant, id);
      const limit = ctx.query.limit === undefined ? 50 : Number(ctx.query.limit);
      const list = `events:${id}`;
      let events = tenant.events.get(id) ?? [];
      if (ctx.query.cursor !== undefined) {
        const position = decodeCursor(String(ctx.query.cursor), list);
        if (!position || typeof position.at !== 'string' || typeof position.id !== 'string') throw invalidCursor();
        events = events.filter((e) => e.occurred_at < position.at || (e.occurred_at === position.at && e.id < position.id));
      }
      const data = events.slice(0, limit);
      const last = data.at(-1);
      return { status: 200, body: { data: structuredClone(data), next_cursor: events.length > limit && last ? encodeCursor(list, { at: last.occurred_at, id: last.id }) : null } };
    },

    getDefaultProviderConnection(tenant, ctx) {
      const slug = ctx.params.slug;
      if (!catalog.has(slug)) throw new MockProblem('not_found', `No provider with slug '${slug}'.`);
      const environment = ctx.query.environment ?? 'production';
      const [best] = [...tenant.connections.values()]
        .filter((c) => c.provider === slug && c.environment === environment && c.enabled && c.status === 'active')
        .sort((a, b) => b.priority - a.priority || (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
      if (!best) throw new MockProblem('not_found', `No enabled, active ${slug} connection in ${environment}.`);
      return reply(200, best);
    },

    // ---- connect sessions (issue 14): the server's rules that need no database ------------
    // The mock serves no hosted page: a session stays pending until cancelled or expired. Not
    // copied: the return_url and logo allow-list (server configuration; the mock takes any),
    // and scopes (a body's `tenant` is taken from any key, as every key has every scope).

    createConnectSession(tenant, ctx) {
      const body = ctx.body;
      const issues = [];
      const slots = [];
      body.slots.forEach((slot, index) => {
        const pointer = `/slots/${index}`;
        if ((slot.provider === undefined) === (slot.category === undefined)) return issues.push({ pointer, message: 'must name exactly one of provider and category' });
        if (slot.provider !== undefined && !catalog.has(slot.provider)) issues.push({ pointer: `${pointer}/provider`, message: 'is not a provider in the catalog (see GET /v1/providers)' });
        if (slot.category !== undefined && ![...catalog.values()].some((p) => p.category === slot.category)) issues.push({ pointer: `${pointer}/category`, message: 'has no provider in the catalog' });
        if (slot.connection_id !== undefined) {
          const existing = body.tenant === undefined ? tenant.connections.get(slot.connection_id) : undefined;
          if (slot.provider === undefined) issues.push({ pointer: `${pointer}/connection_id`, message: 'needs the slot to name its provider' });
          else if (!existing) issues.push({ pointer: `${pointer}/connection_id`, message: body.tenant === undefined ? 'is not a connection of this tenant' : 'is not a connection of this tenant (a new tenant has none)' });
          else if (existing.provider !== slot.provider) issues.push({ pointer: `${pointer}/connection_id`, message: `is a connection of ${existing.provider}, not ${slot.provider}` });
        }
        slots.push(structuredClone(slot));
      });
      if (issues.length) throw invalid(issues);
      const now = Date.now();
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      const token = `cst_${btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`;
      const session = {
        id: newId('cs'),
        tenant_id: body.tenant === undefined ? MOCK_TENANT_ID : newId('ten'),
        status: 'pending',
        slots,
        environment: body.environment ?? 'production',
        end_user: structuredClone(body.end_user),
        return_url: body.return_url,
        ...(body.branding && Object.keys(body.branding).length ? { branding: structuredClone(body.branding) } : {}),
        expires_at: new Date(now + (body.expires_in_seconds ?? 1800) * 1000).toISOString(),
        created_at: new Date(now).toISOString(),
        completed_at: null,
        cancelled_at: null,
        connection_ids: [],
      };
      if (tenant.connectSessions.size >= bounds.connectionsPerKey) throw new MockProblem('conflict', `This mock keeps at most ${bounds.connectionsPerKey} connect sessions per API key; DELETE /_mock/state to start again.`);
      tenant.connectSessions.set(session.id, session);
      // The link's token is shown here only and kept nowhere (the server keeps its hash).
      return { status: 201, body: { ...sessionNow(session), url: `https://connect.mock.patchbay.invalid/connect/${token}` } };
    },

    getConnectSession(tenant, ctx) {
      return { status: 200, body: sessionNow(sessionFound(tenant, ctx.params.sessionId)) };
    },

    listConnectSessions(tenant, ctx) {
      const limit = ctx.query.limit === undefined ? 50 : Number(ctx.query.limit);
      let sessions = [...tenant.connectSessions.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
      if (ctx.query.cursor !== undefined) {
        const position = decodeCursor(String(ctx.query.cursor), 'connect_sessions');
        if (!position || typeof position.before !== 'string') throw invalidCursor();
        sessions = sessions.filter((s) => s.id < position.before);
      }
      const data = sessions.slice(0, limit);
      const last = data.at(-1);
      return { status: 200, body: { data: data.map(sessionNow), next_cursor: sessions.length > limit && last ? encodeCursor('connect_sessions', { before: last.id }) : null } };
    },

    cancelConnectSession(tenant, ctx) {
      const session = sessionFound(tenant, ctx.params.sessionId);
      const current = sessionNow(session);
      if (current.status === 'cancelled') return { status: 200, body: current };
      if (current.status !== 'pending') throw new MockProblem('conflict', `Connect session ${session.id} is ${current.status}; only a pending session can be cancelled.`);
      session.status = 'cancelled';
      session.cancelled_at = new Date().toISOString();
      return { status: 200, body: sessionNow(session) };
    },
  };

  function sessionFound(tenant, id) {
    const session = tenant.connectSessions.get(id);
    if (!session) throw new MockProblem('not_found', `No connect session ${id} in this tenant.`);
    return session;
  }

  /** A session as the API shows it now: a pending one past its expiry is expired. */
  function sessionNow(session) {
    const shown = structuredClone(session);
    if (shown.status === 'pending' && Date.parse(shown.expires_at) <= Date.now()) shown.status = 'expired';
    return shown;
  }

  return {
    /** Whether the store answers this operation (the others are answered from the examples). */
    handles: (operationId) => Object.hasOwn(operations, operationId),
    /**
     * @param {string} operationId
     * @param {{ key: string, requestId: string, path: string, params: object, query: object, body: any, ifMatch?: string, idempotencyKey?: string }} ctx
     * @returns {{ status: number, body: unknown, headers?: Record<string, string> }} or throws a MockProblem
     */
    answer(operationId, ctx) {
      const tenant = tenantOf(ctx.key);
      if (ctx.idempotencyKey === undefined || !IDEMPOTENT.has(operationId)) return operations[operationId](tenant, ctx);
      // The server's idempotency (decision 0007): the first reply to a key is replayed to the
      // same request, and a key reused for another request is a 422. Only a hash of the
      // request is kept, never its body (which may carry credentials).
      const hash = fingerprint(canonicalJson([operationId, ctx.path, ctx.body]), ctx.key);
      const prior = tenant.replies.get(ctx.idempotencyKey);
      if (prior) {
        if (prior.operationId !== operationId || prior.hash !== hash) {
          throw new MockProblem('idempotency_key_reused', 'This Idempotency-Key was first used with a different request; use a new key for a new request.');
        }
        return { ...structuredClone(prior.reply), headers: { ...prior.reply.headers, 'Idempotent-Replayed': 'true' } };
      }
      const reply = operations[operationId](tenant, ctx);
      tenant.replies.set(ctx.idempotencyKey, { operationId, hash, reply: structuredClone(reply) });
      if (tenant.replies.size > bounds.repliesPerKey) tenant.replies.delete(tenant.replies.keys().next().value);
      return reply;
    },
    /** Forgets one key's changes (its next request starts from the examples again). */
    reset(key) {
      tenants.delete(key);
    },
    /** The keys it holds data for, least recently used first. */
    keys: () => [...tenants.keys()],
  };
}
