/**
 * What must not compile, checked by `pnpm --filter @patchbay/test typecheck` (tsc): each
 * `@ts-expect-error` below fails the build if the line it guards ever compiles. The word
 * after `@ts-expect-error:` must be what the compiler's error on that line is about, quoted
 * in its message or the very member it points at (type-guarantees.test.ts checks it), so a line cannot pass by failing for another reason.
 * Nothing here runs: the calls sit in a function that is never called.
 */
import { expectTypeOf } from 'vitest';
import {
  createPatchbayClient,
  PatchbayError,
  type Connection,
  type ConnectionCreate,
  type ConnectionEvent,
  type Page,
  type Provider,
  type ProviderCredentials,
  type ProviderSettings,
  type ProviderSlug,
  type ResponseBody,
  type UpsertResult,
} from '@patchbay/client';
import type { connections, Readable } from '@patchbay/api-types';

export async function neverCalled(): Promise<void> {
  const client = createPatchbayClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: 'pb_...' });
  const id = 'conn_01jd5qaz8x3k7m2n4p6r8t0vwy';
  const current = await client.connections.get(id);

  // --- readOnly members (id, version, created_at...) cannot be sent ---------------------
  // @ts-expect-error: id
  await client.connections.create({ provider: 'stripe', id });
  // @ts-expect-error: version
  await client.connections.update(id, { version: 3 });
  // @ts-expect-error: created_at
  await client.connections.replace(id, { name: 'x', environment: 'test', created_at: '2026-01-01T00:00:00Z' });
  // A body assembled elsewhere (not an object literal, so no excess-property check) that
  // carries a readOnly member is refused too.
  const edited = { name: 'Renamed', version: current.version };
  // @ts-expect-error: version
  await client.connections.update(id, edited);
  // @ts-expect-error: consecutive_failures
  await client.providers.upsertByReference('stripe', 'eu-1', { name: 'x', consecutive_failures: 0 });
  // Not so with the raw methods: openapi-fetch infers their init as a type parameter, and
  // TypeScript does not check excess members against a constraint, so an unknown or readOnly
  // member in a raw body compiles (the server still refuses it with a 400). The helpers'
  // parameters are plain types, hence the checks above. A wrong type is caught either way:
  // @ts-expect-error: number
  await client.POST('/v1/connections', { body: { provider: 42 } });

  // --- writeOnly secrets (credentials) cannot be read -----------------------------------
  // @ts-expect-error: credentials
  void current.credentials;
  const raw = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: id } } });
  // @ts-expect-error: credentials
  void raw.data?.credentials;
  const { connection } = await client.providers.upsertByReference('stripe', 'eu-1', { credentials: { secret_key: 'sk_test_...' } });
  // @ts-expect-error: credentials
  void connection.credentials;
  // Where a schema marks credentials writeOnly inline (ConnectionPatch), the read view drops them.
  const patchAsRead = {} as Readable<connections.components['schemas']['ConnectionPatch']>;
  // @ts-expect-error: credentials
  void patchAsRead.credentials;
  // What a response does say about credentials is their summary.
  expectTypeOf(current.credentials_summary).toMatchTypeOf<Record<string, { set: boolean }>>();

  // --- unknown members do not compile where the spec forbids additional properties -------
  // @ts-expect-error: colour
  await client.connections.create({ provider: 'stripe', colour: 'red' });
  // @ts-expect-error: sideways
  await client.connections.create({ provider: 'stripe', sync_config: { invoice: { inbound: true, sideways: true } } });
  // @ts-expect-error: owner
  await client.connections.update(id, { linked_resources: [{ object_type: 'customer', object_id: 'c1', owner: 'me' }] });
  // @ts-expect-error: duration
  await client.connections.syncRuns.report(id, { outcome: 'succeeded', duration: 3 });
  // @ts-expect-error: website
  await client.connections.update(id, { website: 'https://example.com' });

  // --- a provider's credentials and settings are its catalog schemas' (specs/providers/) ----
  // A literal slug of the catalog types `credentials` and `settings` as that provider's
  // credentials_schema and settings_schema say, and they forbid additional properties:
  // @ts-expect-error: api_key
  await client.connections.create({ provider: 'stripe', credentials: { secret_key: 'sk_test_...', api_key: 'x' } });
  // @ts-expect-error: colour
  await client.connections.create({ provider: 'payven-vpos', settings: { terminal_id: 'T1', store_id: 'S1', bank_code: '0062', colour: 'red' } });
  // @ts-expect-error: acount_id
  await client.providers.upsertByReference('stripe', 'eu-1', { settings: { acount_id: 'acct_1' } });
  // @ts-expect-error: webhook_url
  await client.connections.replace(id, { provider: 'payven-vpos', name: 'x', environment: 'test', settings: { terminal_id: 'T1', store_id: 'S1', bank_code: '0062', webhook_url: 'https://x.example' } });
  // What is missing is refused only where the server refuses it. Settings are checked whole
  // where a body replaces them (create, replace), so payven-vpos' required ones must be there:
  // @ts-expect-error: bank_code
  await client.connections.create({ provider: 'payven-vpos', settings: { terminal_id: 'T1', store_id: 'S1' } });
  // @ts-expect-error: settings
  await client.connections.create({ provider: 'payven-vpos' });
  // ... but merged on an upsert (it may update), so some are enough there:
  await client.providers.upsertByReference('payven-vpos', 'garanti-1', { settings: { bank_code: '0062', extra_properties: { mode: null } } });
  // Credentials may be partial on create, replace and upsert (the connection waits in
  // pending_auth), and are checked whole only by replaceConnectionCredentials:
  await client.connections.create({ provider: 'hubspot' });
  await client.connections.create({ provider: 'stripe', credentials: { webhook_secret: 'whsec_...' } });
  // @ts-expect-error: secret_key
  await client.connections.credentials.replace<'stripe'>(id, { webhook_secret: 'whsec_...' });
  // @ts-expect-error: api_key
  await client.connections.credentials.replace<'stripe'>(id, { secret_key: 'sk_test_...', api_key: 'x' });
  // A patch does not name its provider; given as a type argument, it types the merge patch:
  // null removes an optional setting or a credential, not a required setting.
  await client.connections.update<'stripe'>(id, { settings: { account_id: null }, credentials: { webhook_secret: null } });
  // @ts-expect-error: acount_id
  await client.connections.update<'stripe'>(id, { settings: { acount_id: 'acct_1' } });
  // @ts-expect-error: bank_code
  await client.connections.update<'payven-vpos'>(id, { settings: { bank_code: null } });
  // Where the schema allows any member (generic), or the provider is known only at run time
  // (a `string`), credentials and settings are open maps: the server checks them.
  await client.connections.create({ provider: 'generic', settings: { any_setting: true, depth: { x: 1 } }, credentials: { any_secret: 'x' } });
  const slug: string = 'stripe';
  await client.connections.create({ provider: slug, settings: { any_setting: true }, credentials: { api_key: 'x' } });
  await client.providers.upsertByReference(slug, 'eu-1', { settings: { any_setting: true } });
  await client.connections.update(id, { settings: { any_setting: true }, credentials: { any_secret: 'x' } });
  await client.connections.credentials.replace(id, { any_secret: 'x' });
  // The generated catalog types, as a request sends them (credentials are writeOnly: no response has them).
  expectTypeOf<ProviderCredentials['stripe']>().toEqualTypeOf<{ secret_key: string; webhook_secret?: string }>();
  expectTypeOf<ProviderSettings['generic']>().toEqualTypeOf<{ [key: string]: unknown }>();
  expectTypeOf<'stripe' | 'payven-vpos' | 'generic'>().toMatchTypeOf<ProviderSlug>();

  // --- enums and parameters are the spec's ----------------------------------------------
  // @ts-expect-error: sleeping
  await client.connections.update(id, { status: 'sleeping' });
  // @ts-expect-error: sideways
  client.connections.list({ sort: 'sideways' });
  // The paginator owns the cursor.
  // @ts-expect-error: cursor
  client.connections.list({ cursor: 'abc' });
  // @ts-expect-error: staging
  await client.providers.defaultConnection('stripe', { environment: 'staging' });

  // --- what the helpers return -----------------------------------------------------------
  expectTypeOf(current).toEqualTypeOf<ResponseBody<'getConnection', 200>>();
  expectTypeOf(await client.connections.create({ provider: 'stripe' })).toEqualTypeOf<Connection>();
  expectTypeOf(await client.providers.upsertByReference('stripe', 'eu-1', {})).toEqualTypeOf<UpsertResult>();
  expectTypeOf(await client.providers.get('stripe')).toEqualTypeOf<Provider>();
  for await (const c of client.connections.list({ status: ['active'] })) expectTypeOf(c).toEqualTypeOf<Connection>();
  for await (const page of client.connections.events.list(id).pages()) expectTypeOf(page).toEqualTypeOf<Page<ConnectionEvent>>();
  expectTypeOf<ConnectionCreate['provider']>().toEqualTypeOf<string>();

  // --- errors narrow ------------------------------------------------------------------------
  try {
    await client.connections.get(id);
  } catch (error) {
    if (error instanceof PatchbayError && error.is('validation_failed')) {
      expectTypeOf(error.code).toEqualTypeOf<'validation_failed'>();
      expectTypeOf(error.fieldErrors).toEqualTypeOf<Record<string, string[]>>();
    }
  }
}
