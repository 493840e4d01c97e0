/** The scripted session of issue 16, as a frontend would click through it: create (and one
 * the provider's schemas refuse), retry a create with its Idempotency-Key, list, get, patch
 * with If-Match, patch with a stale If-Match, disable and enable, rotate the credentials,
 * report a failed sync run, replace, upsert by reference, archive, list again, read the
 * audit trail. Run on
 * the real server and on the stateful mock (process and MSW), it records what a frontend
 * sees at each step: statuses, the shapes of the answers, problem codes and pointers, the
 * ETags, and the events; the transcripts must be equal. Every answer is kept too, for the
 * caller to check against the spec (support/spec-schema.ts, Node only). */
// No Node module here: the browser test bundles this file into its page.

export interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
}
/** Sends one request to the target under test (the key and base URL are the sender's). */
export type Send = (method: string, path: string, options?: { headers?: Record<string, string>; body?: unknown }) => Promise<Answer>;

type Json = Record<string, unknown>;

/** A value's shape: members and their JSON types, arrays by their first item. */
export function shapeOf(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value as Json).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shapeOf(v)]));
  return typeof value;
}

/** JSON with object members sorted: equal for equal values, whatever their order. */
const canonical = (value: unknown): string =>
  value === null || typeof value !== 'object'
    ? JSON.stringify(value)
    : Array.isArray(value)
      ? `[${value.map(canonical).join(',')}]`
      : `{${Object.keys(value as Json).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`).join(',')}}`;

/** What a step shows a frontend: for a problem its code, field errors and extra members; else the shape. */
function seen(step: string, answer: Answer): Json {
  const body = answer.json as Json | undefined;
  const record: Json = { step, status: answer.status };
  if (answer.status >= 400 && body) {
    const { type, title, status, code, errors, detail: _detail, instance: _instance, request_id: _requestId, ...extensions } = body;
    // Field errors whole (pointer and message), but for the ids they may name.
    const fieldErrors = ((errors as { pointer: string; message: string }[] | undefined) ?? []).map((e) => ({ pointer: e.pointer, message: e.message.replace(/\b[a-z]+_[0-9a-z]{26}\b/g, '{id}') }));
    Object.assign(record, { type, title, problemStatus: status, code, errors: fieldErrors, extensions: Object.keys(extensions).sort() });
  } else {
    record.shape = shapeOf(body);
    record.etag = answer.headers.get('etag');
    record.location = answer.headers.get('location')?.replace(/conn_[0-9a-z]{26}/, 'conn_{id}') ?? null;
  }
  return record;
}

export interface Transcript {
  steps: Json[];
  /** Every answer, with the operation it answers, to check against the spec. */
  answers: { step: string; operationId: string; status: number; type: string; json: unknown }[];
  /** Answers that carry a secret the session sent. */
  violations: string[];
}

/** Runs the session; `unique` keeps references apart between runs on one tenant. */
export async function runSession(send: Send, unique: string): Promise<Transcript> {
  const steps: Json[] = [];
  const violations: string[] = [];
  const answers: Transcript['answers'] = [];
  const step = async (name: string, operationId: string, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown } = {}, extra: (answer: Answer) => Json = () => ({})) => {
    const answer = await send(method, path, options);
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!;
    if (answer.status !== 204) answers.push({ step: name, operationId, status: answer.status, type, json: answer.json });
    if (JSON.stringify(answer.json ?? null).includes('sk_test_')) violations.push(`${name}: a secret is in the answer`);
    steps.push({ ...seen(name, answer), ...extra(answer) });
    return answer;
  };
  const reference = `eu-${unique}`;
  const json = { 'Content-Type': 'application/json' };
  const patch = { 'Content-Type': 'application/merge-patch+json' };
  const body = { provider: 'stripe', reference, name: 'Stripe EU', credentials: { secret_key: 'sk_test_51ExampleOnlyNotARealKey0001' }, sync_config: { invoice: { inbound: true } } };

  const created = await step('create', 'createConnection', 'POST', '/v1/connections', { headers: json, body }, (a) => {
    const c = a.json as Json;
    return { status_of: c.status, version: c.version, summary: Object.keys(c.credentials_summary as Json), last4: (c.credentials_summary as Json & { secret_key?: Json }).secret_key?.last4 };
  });
  const id = (created.json as Json).id as string;
  await step('create with members the provider refuses', 'createConnection', 'POST', '/v1/connections', {
    headers: json,
    body: { provider: 'stripe', settings: { account_id: 'not-an-account', colour: 'red' }, credentials: { secret_key: 'short' }, sync_config: { teleport: { inbound: true } } },
  });
  const once = { ...json, 'Idempotency-Key': `once-${unique}` };
  const first = await step('create with an Idempotency-Key', 'createConnection', 'POST', '/v1/connections', { headers: once, body: { provider: 'stripe', reference: `${reference}-once` } }, (a) => ({ replayed: a.headers.get('idempotent-replayed') }));
  await step('retry it', 'createConnection', 'POST', '/v1/connections', { headers: once, body: { provider: 'stripe', reference: `${reference}-once` } }, (a) => ({
    replayed: a.headers.get('idempotent-replayed'),
    same: canonical(a.json) === canonical(first.json),
  }));
  await step('reuse the key for another request', 'createConnection', 'POST', '/v1/connections', { headers: once, body: { provider: 'stripe', reference: `${reference}-twice` } });
  await step('create with a reference taken', 'createConnection', 'POST', '/v1/connections', { headers: json, body: { provider: 'stripe', reference } });
  await step('list by reference', 'listConnections', 'GET', `/v1/connections?q=${reference}`, {}, (a) => ({ ids: (a.json as { data: Json[] }).data.map((c) => (c.id === id ? 'created' : 'other')) }));
  await step('get', 'getConnection', 'GET', `/v1/connections/${id}`, {}, (a) => ({ same: canonical(a.json) === canonical(created.json) }));
  await step('patch with If-Match', 'updateConnection', 'PATCH', `/v1/connections/${id}`, { headers: { ...patch, 'If-Match': '"1"' }, body: { priority: 10, metadata: { team: 'payments' } } }, (a) => {
    const c = a.json as Json;
    return { version: c.version, priority: c.priority, metadata: c.metadata };
  });
  await step('patch with a stale If-Match', 'updateConnection', 'PATCH', `/v1/connections/${id}`, { headers: { ...patch, 'If-Match': '"1"' }, body: { priority: 11 } }, (a) => ({ current_version: (a.json as Json).current_version }));
  await step('disable', 'updateConnection', 'PATCH', `/v1/connections/${id}`, { headers: patch, body: { status: 'disabled' } }, (a) => ({ status_of: (a.json as Json).status, version: (a.json as Json).version }));
  await step('enable', 'updateConnection', 'PATCH', `/v1/connections/${id}`, { headers: patch, body: { status: 'active' } }, (a) => ({ status_of: (a.json as Json).status }));
  await step('rotate the credentials', 'replaceConnectionCredentials', 'PUT', `/v1/connections/${id}/credentials`, { headers: json, body: { credentials: { secret_key: 'sk_test_51ExampleOnlyNotARealKey0002' } } }, (a) => ({
    last4: ((a.json as Json).credentials_summary as Json & { secret_key: Json }).secret_key.last4,
  }));
  await step('report a failed sync run', 'reportSyncRun', 'POST', `/v1/connections/${id}/sync-runs`, { headers: json, body: { outcome: 'failed', entity: 'invoice', direction: 'inbound', error: { code: 'provider_timeout', message: 'Stripe did not answer in 30 s' } } }, (a) => ({
    connection_status: (a.json as Json).connection_status,
    consecutive_failures: (a.json as Json).consecutive_failures,
  }));
  const beforeReplace = (await send('GET', `/v1/connections/${id}`)).headers.get('etag') ?? '';
  await step('replace with If-Match', 'replaceConnection', 'PUT', `/v1/connections/${id}`, { headers: { ...json, 'If-Match': beforeReplace }, body: { name: 'Stripe EU (replaced)', environment: 'production', reference, sync_config: { customer: { inbound: true } } } }, (a) => {
    const c = a.json as Json;
    return { name: c.name, priority: c.priority, metadata: c.metadata, sync_config: c.sync_config, summary: Object.keys(c.credentials_summary as Json) };
  });
  const upserted = `up-${unique}`;
  await step('upsert creates', 'upsertProviderConnection', 'PUT', `/v1/providers/stripe/connections/${upserted}`, { headers: json, body: { name: 'Upserted' } }, (a) => ({ status_of: (a.json as Json).status, reference: (a.json as Json).reference === upserted }));
  await step('upsert updates', 'upsertProviderConnection', 'PUT', `/v1/providers/stripe/connections/${upserted}`, { headers: json, body: { priority: 5 } }, (a) => ({ version: (a.json as Json).version, priority: (a.json as Json).priority, name: (a.json as Json).name }));
  await step('upsert creates a disabled one', 'upsertProviderConnection', 'PUT', `/v1/providers/stripe/connections/${upserted}-off`, { headers: json, body: { name: 'Off', status: 'disabled' } }, (a) => ({ status_of: (a.json as Json).status, version: (a.json as Json).version }));
  await step('upsert with another provider', 'upsertProviderConnection', 'PUT', `/v1/providers/payven-vpos/connections/${upserted}`, { headers: json, body: { name: 'Not mine' } });
  const current = (await send('GET', `/v1/connections/${id}`)).headers.get('etag') ?? '';
  await step('archive', 'archiveConnection', 'DELETE', `/v1/connections/${id}`, { headers: { 'If-Match': current } }, (a) => ({ status_of: (a.json as Json).status, summary: (a.json as Json).credentials_summary }));
  await step('patch an archived connection', 'updateConnection', 'PATCH', `/v1/connections/${id}`, { headers: patch, body: { priority: 1 } });
  await step('list again', 'listConnections', 'GET', `/v1/connections?q=${reference}`, {}, (a) => ({ count: (a.json as { data: Json[] }).data.length }));
  await step('list the archived', 'listConnections', 'GET', `/v1/connections?q=${reference}&status=archived`, {}, (a) => ({ ids: (a.json as { data: Json[] }).data.map((c) => (c.id === id ? 'created' : 'other')) }));
  await step('create again on the archived reference', 'createConnection', 'POST', '/v1/connections', { headers: json, body: { provider: 'stripe', reference } }, (a) => ({ status_of: (a.json as Json).status }));
  await step('events', 'listConnectionEvents', 'GET', `/v1/connections/${id}/events`, {}, (a) => ({
    events: (a.json as { data: Json[] }).data.map((e) => ({ action: e.action, changed_fields: e.changed_fields, status_from: e.status_from, status_to: e.status_to })),
  }));
  await step('get an unknown id', 'getConnection', 'GET', '/v1/connections/conn_01zzzzzzzzzzzzzzzzzzzzzzzz');
  return { steps, answers, violations };
}
