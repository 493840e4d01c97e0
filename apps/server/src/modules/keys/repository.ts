/**
 * Every query of the key ring and of rotations, and the only code that wraps and re-wraps
 * under the key-encryption keys (the connections and webhooks repositories seal records). A
 * rotation batch locks the rows it re-wraps and writes each one only if it still holds the
 * wrapped key it read (a version check), so a write made meanwhile is never overwritten.
 * Every kind of sealed record is listed once, in SEALED_RECORDS: the rotation, the count of
 * what is left, the start-up check and readiness all read that list, so a kind cannot be
 * re-wrapped by one and forgotten by another.
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

/**
 * A kind of record sealed by the envelope cipher (a data key per record, wrapped by a KEK,
 * AAD `<tenant_id>/<id>`): its table and the columns of its wrapped data key and key version.
 * A rotation re-wraps the kinds in this order; a new sealed column must be added here.
 */
export interface SealedRecordKind {
  name: string;
  table: 'connections' | 'webhook_endpoints';
  keyColumn: string;
  versionColumn: string;
}

export const SEALED_RECORDS: readonly SealedRecordKind[] = [
  { name: 'connections', table: 'connections', keyColumn: 'credentials_key', versionColumn: 'credentials_key_version' },
  { name: 'webhook_endpoints', table: 'webhook_endpoints', keyColumn: 'secrets_key', versionColumn: 'secrets_key_version' },
];

/** A rotation's resume position: the kind being re-wrapped and the last id done in it. */
export interface RotationPosition {
  kind: number;
  afterId: string | null;
}

/**
 * `last_id` holds the position as `<kind name>/<id>`; a bare id (written before webhook
 * secrets were re-wrapped too) is a connection's.
 */
export function parsePosition(lastId: string | null): RotationPosition {
  if (lastId === null) return { kind: 0, afterId: null };
  const slash = lastId.indexOf('/');
  if (slash < 0) return { kind: 0, afterId: lastId };
  const kind = SEALED_RECORDS.findIndex((k) => k.name === lastId.slice(0, slash));
  return kind < 0 ? { kind: 0, afterId: null } : { kind, afterId: lastId.slice(slash + 1) };
}

const encodePosition = (kind: number, id: string): string => `${SEALED_RECORDS[kind]!.name}/${id}`;

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
    const records = SEALED_RECORDS.map((k) => sql`SELECT DISTINCT ${sql.ref(k.versionColumn)} AS v FROM ${sql.table(k.table)} WHERE ${sql.ref(k.versionColumn)} IS NOT NULL`);
    const rows = await sql<{ v: number }>`
      ${sql.join(records, sql` UNION `)}
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

  /** Sealed records of every kind not wrapped by `version`. */
  async countNotAt(version: number): Promise<number> {
    let total = 0;
    for (const n of Object.values(await this.countNotAtByKind(version))) total += n;
    return total;
  }

  /** The same, per kind of record (by SEALED_RECORDS name). */
  async countNotAtByKind(version: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const kind of SEALED_RECORDS) {
      const row = await sql<{ n: string }>`
        SELECT count(*) AS n FROM ${sql.table(kind.table)} WHERE ${sql.ref(kind.versionColumn)} IS NOT NULL AND ${sql.ref(kind.versionColumn)} <> ${version}`.execute(this.db);
      counts[kind.name] = Number(row.rows[0]?.n ?? 0);
    }
    return counts;
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
   * One batch, in one transaction: the next records of the position's kind after its id that
   * are not under the target version, locked; each data key re-wrapped and written only where
   * the row still holds what was read; the progress committed with them (a crash resumes
   * here). `lastId` null: nothing is left of that kind after the position.
   */
  rewrapBatch(
    rotation: { id: string; targetVersion: number; batchSize: number; position: RotationPosition; owner: string },
    cipher: CredentialCipher,
  ): Promise<BatchOutcome | 'lease_lost'> {
    const kind = SEALED_RECORDS[rotation.position.kind]!;
    const key = sql.ref(kind.keyColumn);
    const version = sql.ref(kind.versionColumn);
    const table = sql.table(kind.table);
    return this.db.transaction().execute(async (tx) => {
      const held = await tx.selectFrom('key_rotations').select(['lease_owner', 'status']).where('id', '=', rotation.id).forUpdate().executeTakeFirst();
      if (!held || held.status !== 'running' || held.lease_owner !== rotation.owner) return 'lease_lost';
      const after = rotation.position.afterId;
      const rows = (
        await sql<{ id: string; tenant_id: string; wrapped_key: Buffer | null; key_version: number | null }>`
          SELECT id, tenant_id, ${key} AS wrapped_key, ${version} AS key_version FROM ${table}
          WHERE ${version} IS NOT NULL AND ${version} <> ${rotation.targetVersion} ${after !== null ? sql`AND id > ${after}` : sql``}
          ORDER BY id LIMIT ${rotation.batchSize} FOR UPDATE`.execute(tx)
      ).rows;
      const outcome: BatchOutcome = { rewrapped: 0, lastId: rows.length ? rows[rows.length - 1]!.id : null, undecryptable: [] };
      for (const row of rows) {
        if (!row.wrapped_key || row.key_version === null) continue;
        const wrapped = Buffer.from(row.wrapped_key);
        const from = Number(row.key_version);
        let next: { wrappedKey: Buffer; keyVersion: number };
        try {
          // The data key alone: the record's ciphertext (credentials, signing secrets) is never opened.
          next = cipher.rewrap(wrapped, from, { tenantId: row.tenant_id, connectionId: row.id });
        } catch (error) {
          if (error instanceof UndecryptableError) {
            outcome.undecryptable.push(row.id);
            continue;
          }
          throw error;
        }
        const updated = await sql`
          UPDATE ${table} SET ${key} = ${next.wrappedKey}, ${version} = ${next.keyVersion}
          WHERE id = ${row.id} AND ${version} = ${from} AND ${key} = ${wrapped}`.execute(tx);
        if (Number(updated.numAffectedRows ?? 0n) === 1) outcome.rewrapped += 1;
      }
      const position = outcome.lastId !== null ? encodePosition(rotation.position.kind, outcome.lastId) : undefined;
      await tx
        .updateTable('key_rotations')
        .set((eb) => ({ records_rewrapped: eb('records_rewrapped', '+', outcome.rewrapped), ...(position !== undefined ? { last_id: position } : {}), updated_at: new Date() }))
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
