/** The status lifecycle (requested transitions, archive) and what sync-run reports do to it. */
import { describe, expect, it } from 'vitest';
import type { PatchbayClient } from '@patchbay/client';
import { describeEach, serverTargets } from '../support/targets.js';
import { createConnection, tenant } from './factories.js';

async function setStatus(client: PatchbayClient, connectionId: string, status: 'active' | 'disabled') {
  return client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId } }, body: { status } });
}

async function failRun(client: PatchbayClient, connectionId: string, message = 'upstream said 500') {
  const r = await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId } }, body: { outcome: 'failed', entity: 'invoice', error: { code: 'upstream_error', message } } });
  expect(r.response.status).toBe(201);
  return r.data!;
}

describeEach(serverTargets())('status lifecycle on the $name', (target) => {
  describe('PATCH status', () => {
    it('when an active connection is disabled and enabled again, then both transitions succeed with the status_message', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const disabled = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { status: 'disabled', status_message: 'paused by ops' } });
      expect(disabled.response.status).toBe(200);
      expect(disabled.data).toMatchObject({ status: 'disabled', status_message: 'paused by ops' });
      const active = await setStatus(client, c.id, 'active');
      expect(active.data!.status).toBe('active');
    });

    it('when a pending_auth connection is asked to become active, then a 409 names the allowed transitions', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client, { credentials: {} });
      const { response, error } = await setStatus(client, c.id, 'active');
      expect(response.status).toBe(409);
      expect(error).toMatchObject({ code: 'conflict', allowed_transitions: ['disabled'] });
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/status']);
    });

    it('when a disabled connection lacking credentials is re-enabled, then it goes to pending_auth', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client, { credentials: {} });
      await setStatus(client, c.id, 'disabled');
      const { data } = await setStatus(client, c.id, 'active');
      expect(data!.status).toBe('pending_auth');
    });
  });

  describe('DELETE /v1/connections/{connectionId}', () => {
    it('when a connection is archived, then it answers 200 with status archived and an empty credentials_summary', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const { response, data } = await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(response.status).toBe(200);
      expect(data).toMatchObject({ status: 'archived', credentials_summary: {}, enabled: false });
      expect(data!.archived_at).not.toBeNull();
      const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(got.data!.status).toBe('archived');
    });

    it('when a connection is archived, then a PATCH is a 409 and its reference can be used again', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      const patch = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { name: 'again' } });
      expect(patch.response.status).toBe(409);
      expect(patch.error).toMatchObject({ code: 'conflict', allowed_transitions: [] });
      const reuse = await client.POST('/v1/connections', { body: { provider: 'stripe', reference: c.reference!, enabled: true } });
      expect(reuse.response.status).toBe(201);
      expect(reuse.data!.id).not.toBe(c.id);
    });
  });

  describe('POST /v1/connections/{connectionId}/sync-runs', () => {
    it('when a run succeeds, then last_sync_at is set and the run is recorded', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const finished = '2026-11-22T16:20:00.000Z';
      const { response, data } = await client.POST('/v1/connections/{connectionId}/sync-runs', {
        params: { path: { connectionId: c.id } },
        body: { outcome: 'succeeded', entity: 'invoice', direction: 'inbound', finished_at: finished, records_processed: 12 },
      });
      expect(response.status).toBe(201);
      expect(data).toMatchObject({ outcome: 'succeeded', connection_status: 'active', consecutive_failures: 0, records_processed: 12 });
      const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(got.data!.last_sync_at).toBe(finished);
    });

    it('when 3 runs fail in a row, then the connection is in error with last_error; a success brings it back to active', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      expect((await failRun(client, c.id)).connection_status).toBe('active');
      expect((await failRun(client, c.id)).connection_status).toBe('active');
      const third = await failRun(client, c.id, 'third failure');
      expect(third).toMatchObject({ connection_status: 'error', consecutive_failures: 3 });
      const errored = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(errored.data).toMatchObject({ status: 'error', consecutive_failures: 3, last_error: { code: 'upstream_error', message: 'third failure' } });
      const ok = await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId: c.id } }, body: { outcome: 'succeeded' } });
      expect(ok.data).toMatchObject({ connection_status: 'active', consecutive_failures: 0 });
      const healed = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(healed.data).toMatchObject({ status: 'active', last_error: null });
      expect(healed.data!.last_sync_at).not.toBeNull();
    });

    it('when an error connection is set active by the caller, then it is allowed (error -> active)', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      for (let i = 0; i < 3; i++) await failRun(client, c.id);
      const { response, data } = await setStatus(client, c.id, 'active');
      expect(response.status).toBe(200);
      expect(data!.status).toBe('active');
    });

    it('when the entity is not one the provider syncs, then a 400 points at /entity', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const { response, error } = await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId: c.id } }, body: { outcome: 'succeeded', entity: 'spaceship' } });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/entity']);
    });

    it('when a failed run carries no error, then a 400 points at /error', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const { response, error } = await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId: c.id } }, body: { outcome: 'failed' } });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/error']);
    });
  });
});
