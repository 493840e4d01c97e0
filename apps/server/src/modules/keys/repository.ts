/**
 * Every query of the key ring and of rotations, and the only code that wraps and re-wraps
 * under the key-encryption keys (the connections repository seals records). A rotation
 * batch locks the rows it re-wraps and writes each one only if it still holds the wrapped
 * key it read (a version check), so a write made meanwhile is never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { CredentialCipher, UndecryptableError, unwrapSecret, wrapSecret } from '../../platform/crypto/envelope.js';
import { keyCheckValue, type KeyRing } from '../../platform/crypto/keyring.js';
import type { ActorRow, Database, KeyRotationsTable } from '../../platform/db/schema.js';
import type { Selectable } from 'kysely';
import { keyRingRefused } from './errors.js';

export type KeyRotationRow = Selectable<KeyRotationsTable>;

const FINGERPRINT_PURPOSE = 'patchbay fingerprint key';

export interface OpenedKeyRing {
  cipher: CredentialCipher;
  /** A stable secret (the fingerprint key) other derived keys (cursor signing) come from. */
  stableRoot: Buffer;
  minDecryptionVersion: number;
  /** Configured versions below the minimum decryption version: not loaded. */
  ignoredRetired: number[];
}

export interface BatchOutcome {
  rewrapped: number;
  lastId: string | null;
  /** Ids of records that did not open under the key their row names (left as they are). */
  undecryptable: string[];
}

export class KeysRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The key versions that wrap anything in the store: records and the fingerprint key. */
  async versionsInUse(): Promise<number[]> {
    const rows = await sql<{ v: number }>`
      SELECT DISTINCT credentials_key_version AS v FROM connections WHERE credentials_key_version IS NOT NULL
      UNION SELECT fingerprint_key_version FROM key_ring WHERE fingerprint_key_version IS NOT NULL`.execute(this.db);
    return rows.rows.map((r) => Number(r.v)).sort((a, b) => a - b);
  }

  /**
   * Checks the configured keys against the store, under the key ring's row lock (several
   * processes may start at once): each key must match its version's check value; every
   * version that wraps something must be configured; the current one must not be retired.
   * Records the check values of new versions and makes the fingerprint key on first start.
   */
  open(ring: KeyRing): Promise<OpenedKeyRing> {
    return this.db.transaction().execute(async (tx) => {
      const state = await tx.selectFrom('key_ring').selectAll().forUpdate().executeTakeFirstOrThrow();
      const stored = new Map((await tx.selectFrom('key_versions').select(['version', 'check_value']).execute()).map((r) => [r.version, r.check_value]));
      const minimum = state.min_decryption_version;
      if (ring.current.version < minimum) {
        throw keyRingRefused(`the current key (PATCHBAY_MASTER_KEY) is version ${ring.current.version}, below the minimum decryption version ${minimum}: versions below ${minimum} are retired`);
      }
      for (const version of ring.versions()) {
        const expected = stored.get(version);
        if (expected !== undefined && expected !== keyCheckValue({ version, key: ring.get(version)! })) {
          throw keyRingRefused(
            `the key configured as version ${version} does not match the key-check value stored for version ${version}: it is not the key that encrypted this database's records`,
          );
        }
      }
      const ignoredRetired = ring.versions().filter((v) => v < minimum);
      ring.retireBelow(minimum);
      const inUse = await new KeysRepository(tx).versionsInUse();
      const missing = inUse.filter((v) => ring.get(v) === undefined);
      if (missing.length) {
        throw keyRingRefused(
          `the database holds data encrypted under key version ${missing.join(', ')}, which is not configured: ` +
            'give it in PATCHBAY_MASTER_KEYS_PREVIOUS (or PATCHBAY_MASTER_KEY) until a rotation has re-wrapped every record',
        );
      }
      for (const version of ring.versions()) {
        if (!stored.has(version)) {
          await tx
            .insertInto('key_versions')
            .values({ version, check_value: keyCheckValue({ version, key: ring.get(version)! }) })
            .onConflict((oc) => oc.column('version').doNothing())
            .execute();
        }
      }
      let root: Buffer;
      if (state.fingerprint_key && state.fingerprint_key_version !== null) {
        root = unwrapSecret(ring, Buffer.from(state.fingerprint_key), state.fingerprint_key_version, FINGERPRINT_PURPOSE);
      } else {
        // First start with a key ring. Fingerprints written before were derived from the one KEK
        // that wrapped the records: that key becomes the fingerprint key, so they keep their
        // values. A new store gets a random one.
        const legacy = inUse.length ? ring.get(inUse[inUse.length - 1]!) : undefined;
        root = legacy ? Buffer.from(legacy) : randomBytes(32);
        const sealed = wrapSecret(ring, root, FINGERPRINT_PURPOSE);
        await tx.updateTable('key_ring').set({ fingerprint_key: sealed.wrapped, fingerprint_key_version: sealed.keyVersion }).execute();
      }
      return { cipher: new CredentialCipher(ring, root), stableRoot: root, minDecryptionVersion: minimum, ignoredRetired };
    });
  }

  /** Whether every record is wrapped by a version this process holds (readiness). */
  async allVersionsLoaded(ring: KeyRing): Promise<boolean> {
    const inUse = await this.versionsInUse();
    return inUse.every((v) => ring.get(v) !== undefined);
  }

  async countNotAt(version: number): Promise<number> {
    const row = await this.db
      .selectFrom('connections')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('credentials_key_version', 'is not', null)
      .where('credentials_key_version', '<>', version)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  findRotation(id: string): Promise<KeyRotationRow | undefined> {
    return this.db.selectFrom('key_rotations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findRunningRotation(): Promise<KeyRotationRow | undefined> {
    return this.db.selectFrom('key_rotations').selectAll().where('status', '=', 'running').executeTakeFirst();
  }

  /** Creates a running rotation; undefined when one is running already (the unique index). */
  async insertRotation(row: { id: string; target_version: number; batch_size: number; batch_delay_ms: number; retire_previous: boolean; records_total: number; created_by: ActorRow; now: Date }): Promise<KeyRotationRow | undefined> {
    return this.db
      .insertInto('key_rotations')
      .values({
        id: row.id,
        status: 'running',
        target_version: row.target_version,
        batch_size: row.batch_size,
        batch_delay_ms: row.batch_delay_ms,
        retire_previous: row.retire_previous,
        records_total: row.records_total,
        created_by: JSON.stringify(row.created_by),
        started_at: row.now,
        updated_at: row.now,
        last_id: null,
        error: null,
        lease_owner: null,
        lease_until: null,
        finished_at: null,
      })
      .onConflict((oc) => oc.column('status').where('status', '=', 'running').doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /** Takes (or renews) the rotation's lease for `owner`; false when another live process holds it. */
  async claim(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await sql`
      UPDATE key_rotations SET lease_owner = ${owner}, lease_until = now() + make_interval(secs => ${leaseMs / 1000})
      WHERE id = ${id} AND status = 'running' AND (lease_owner IS NULL OR lease_owner = ${owner} OR lease_until < now())`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n) === 1;
  }

  /**
   * One batch, in one transaction: the next records after the resume position that are not
   * under the target version, locked; each data key re-wrapped and written only where the row
   * still holds what was read; the progress committed with them (a crash resumes here).
   */
  rewrapBatch(rotation: { id: string; targetVersion: number; batchSize: number; afterId: string | null; owner: string }, cipher: CredentialCipher): Promise<BatchOutcome | 'lease_lost'> {
    return this.db.transaction().execute(async (tx) => {
      const held = await tx.selectFrom('key_rotations').select(['lease_owner', 'status']).where('id', '=', rotation.id).forUpdate().executeTakeFirst();
      if (!held || held.status !== 'running' || held.lease_owner !== rotation.owner) return 'lease_lost';
      let query = tx
        .selectFrom('connections')
        .select(['id', 'tenant_id', 'credentials_key', 'credentials_key_version'])
        .where('credentials_key_version', 'is not', null)
        .where('credentials_key_version', '<>', rotation.targetVersion)
        .orderBy('id')
        .limit(rotation.batchSize);
      if (rotation.afterId !== null) query = query.where('id', '>', rotation.afterId);
      const rows = await query.forUpdate().execute();
      const outcome: BatchOutcome = { rewrapped: 0, lastId: rows.length ? rows[rows.length - 1]!.id : null, undecryptable: [] };
      for (const row of rows) {
        if (!row.credentials_key || row.credentials_key_version === null) continue;
        let next: { wrappedKey: Buffer; keyVersion: number };
        try {
          next = cipher.rewrap(Buffer.from(row.credentials_key), row.credentials_key_version, { tenantId: row.tenant_id, connectionId: row.id });
        } catch (error) {
          if (error instanceof UndecryptableError) {
            outcome.undecryptable.push(row.id);
            continue;
          }
          throw error;
        }
        const updated = await tx
          .updateTable('connections')
          .set({ credentials_key: next.wrappedKey, credentials_key_version: next.keyVersion })
          .where('id', '=', row.id)
          .where('credentials_key_version', '=', row.credentials_key_version)
          .where('credentials_key', '=', Buffer.from(row.credentials_key))
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 1) outcome.rewrapped += 1;
      }
      await tx
        .updateTable('key_rotations')
        .set((eb) => ({ records_rewrapped: eb('records_rewrapped', '+', outcome.rewrapped), last_id: outcome.lastId ?? rotation.afterId, updated_at: new Date() }))
        .where('id', '=', rotation.id)
        .execute();
      return outcome;
    });
  }

  /** Starts another pass from the first id (records written under an older key meanwhile). */
  async nextPass(id: string): Promise<void> {
    await this.db.updateTable('key_rotations').set((eb) => ({ last_id: null, passes: eb('passes', '+', 1), updated_at: new Date() })).where('id', '=', id).execute();
  }

  /** Re-wraps the fingerprint key under the current version (it is a record too). */
  async rewrapFingerprintKey(ring: KeyRing): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const state = await tx.selectFrom('key_ring').selectAll().forUpdate().executeTakeFirstOrThrow();
      if (!state.fingerprint_key || state.fingerprint_key_version === null || state.fingerprint_key_version === ring.current.version) return;
      const root = unwrapSecret(ring, Buffer.from(state.fingerprint_key), state.fingerprint_key_version, FINGERPRINT_PURPOSE);
      try {
        const sealed = wrapSecret(ring, root, FINGERPRINT_PURPOSE);
        await tx.updateTable('key_ring').set({ fingerprint_key: sealed.wrapped, fingerprint_key_version: sealed.keyVersion }).execute();
      } finally {
        root.fill(0);
      }
    });
  }

  /**
   * Finishes a rotation: succeeded, and (when asked) the minimum decryption version raised to
   * its target, retiring every older version, in the same transaction as a last check that
   * nothing is left under an older one.
   */
  finish(id: string, targetVersion: number, retire: boolean): Promise<'succeeded' | 'records_left'> {
    return this.db.transaction().execute(async (tx) => {
      await tx.selectFrom('key_ring').select('id').forUpdate().executeTakeFirstOrThrow();
      const left = await new KeysRepository(tx).countNotAt(targetVersion);
      if (left > 0) return 'records_left';
      const now = new Date();
      if (retire) {
        await tx.updateTable('key_ring').set({ min_decryption_version: targetVersion }).where('min_decryption_version', '<', targetVersion).execute();
        await tx.updateTable('key_versions').set({ retired_at: now }).where('version', '<', targetVersion).where('retired_at', 'is', null).execute();
      }
      await tx.updateTable('key_rotations').set({ status: 'succeeded', finished_at: now, updated_at: now, lease_owner: null, lease_until: null }).where('id', '=', id).execute();
      return 'succeeded';
    });
  }

  async fail(id: string, message: string): Promise<void> {
    const now = new Date();
    await this.db.updateTable('key_rotations').set({ status: 'failed', error: message, finished_at: now, updated_at: now, lease_owner: null, lease_until: null }).where('id', '=', id).execute();
  }

  async minDecryptionVersion(): Promise<number> {
    return (await this.db.selectFrom('key_ring').select('min_decryption_version').executeTakeFirstOrThrow()).min_decryption_version;
  }
}
