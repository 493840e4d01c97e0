/**
 * Key management on the model of Vault's transit engine (decision 0021): opening the key
 * ring against the store at start, and the rotation job (startKeyRotation, getKeyRotation,
 * the rotate-keys command) that re-wraps every sealed record's data key (connection
 * credentials, then webhook signing secrets: SEALED_RECORDS) under the current key version in
 * batches, beside live traffic, resumable after a crash, and then retires the older versions
 * with a minimum decryption version, only once no record of any kind is left under them.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Acting } from '../../platform/caller.js';
import type { KeyRing } from '../../platform/crypto/keyring.js';
import type { Database } from '../../platform/db/schema.js';
import { ulid } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import { keyRotationNotFound, keyRotationRunning } from './errors.js';
import { KeysRepository, parsePosition, SEALED_RECORDS, type KeyRotationRow, type OpenedKeyRing } from './repository.js';

export { KeyRingRefused } from './errors.js';
export type { OpenedKeyRing };

/** A rotation as the API shows it (the KeyRotation schema). */
export interface ApiKeyRotation {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  target_version: number;
  records_total: number;
  records_rewrapped: number;
  batch_size: number;
  batch_delay_ms: number;
  retire_previous: boolean;
  min_decryption_version: number;
  error: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface StartKeyRotation {
  batch_size?: number;
  batch_delay_ms?: number;
  retire_previous?: boolean;
}

/** How long a process holds a rotation without renewing: a crashed holder's job is taken over after it. */
const LEASE_MS = 15_000;
/** How often a server looks for a rotation nobody runs (started elsewhere, or its holder died). */
const WORKER_POLL_MS = 5_000;
/** Passes over the records before giving up on writers that keep using an older key. */
const MAX_PASSES = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KeysService {
  private readonly repository: KeysRepository;
  private ring: KeyRing | undefined;
  private opened: OpenedKeyRing | undefined;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private worker: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    db: Kysely<Database>,
    private readonly logger: Logger,
  ) {
    this.repository = new KeysRepository(db);
  }

  /** The versions that wrap something in the store (before the ring is made: a lost development key file). */
  versionsInUse(): Promise<number[]> {
    return this.repository.versionsInUse();
  }

  /** Checks the ring against the store; throws KeyRingRefused, naming the version at fault. */
  async open(ring: KeyRing): Promise<OpenedKeyRing> {
    const opened = await this.repository.open(ring);
    for (const version of opened.ignoredRetired) {
      this.logger.warn({ keyVersion: version, minDecryptionVersion: opened.minDecryptionVersion }, 'a configured key version is retired and was not loaded; remove it from PATCHBAY_MASTER_KEYS_PREVIOUS');
    }
    this.ring = ring;
    this.opened = opened;
    return opened;
  }

  /** Readiness: every record is wrapped by a version this process holds. */
  healthy(): Promise<boolean> {
    if (!this.ring) return Promise.resolve(false);
    return this.repository.allVersionsLoaded(this.ring);
  }

  async startRotation(acting: Pick<Acting, 'actor'>, input: StartKeyRotation = {}): Promise<ApiKeyRotation> {
    const ring = this.requireRing();
    const target = ring.current.version;
    const row = await this.repository.insertRotation({
      id: `krot_${ulid()}`,
      target_version: target,
      batch_size: input.batch_size ?? 100,
      batch_delay_ms: input.batch_delay_ms ?? 0,
      retire_previous: input.retire_previous ?? true,
      records_total: await this.repository.countNotAt(target),
      created_by: acting.actor,
      now: new Date(),
    });
    if (!row) {
      const running = await this.repository.findRunningRotation();
      throw keyRotationRunning(running?.id ?? 'unknown');
    }
    this.logger.info({ keyRotationId: row.id, targetVersion: target, records: row.records_total }, 'key rotation started');
    if (this.worker) this.kick(row.id);
    return this.present(row);
  }

  async getRotation(id: string): Promise<ApiKeyRotation> {
    const row = await this.repository.findRotation(id);
    if (!row) throw keyRotationNotFound(id);
    return this.present(row);
  }

  /** The running rotation, if any. */
  async runningRotation(): Promise<ApiKeyRotation | undefined> {
    const row = await this.repository.findRunningRotation();
    return row ? this.present(row) : undefined;
  }

  /**
   * Runs a rotation to its end in this process, if this process can hold it: 'held' when
   * another live process does, 'other_version' when its target is not this process's current
   * key. `onBatch` is told the progress after each committed batch.
   */
  async run(id: string, onBatch: (rotation: ApiKeyRotation) => void = () => undefined): Promise<'done' | 'held' | 'other_version'> {
    const ring = this.requireRing();
    const cipher = this.opened!.cipher;
    const first = await this.repository.findRotation(id);
    if (!first || first.status !== 'running') return 'done';
    if (first.target_version !== ring.current.version) return 'other_version';
    if (!(await this.repository.claim(id, this.owner, LEASE_MS))) return 'held';
    try {
      await this.repository.rewrapFingerprintKey(ring);
      let position = parsePosition(first.last_id);
      let passes = first.passes;
      for (;;) {
        if (this.stopped) return 'held';
        if (!(await this.repository.claim(id, this.owner, LEASE_MS))) return 'held';
        const outcome = await this.repository.rewrapBatch({ id, targetVersion: first.target_version, batchSize: first.batch_size, position, owner: this.owner }, cipher);
        if (outcome === 'lease_lost') return 'held';
        if (outcome.undecryptable.length) {
          const message = `${outcome.undecryptable.length} record(s) do not open under the key version their row names (${outcome.undecryptable.slice(0, 5).join(', ')}); nothing was retired`;
          await this.repository.fail(id, message);
          this.logger.error({ keyRotationId: id, recordIds: outcome.undecryptable.slice(0, 20) }, 'key rotation failed: records do not open');
          return 'done';
        }
        const current = await this.repository.findRotation(id);
        if (current) onBatch(await this.present(current));
        if (outcome.lastId !== null) {
          position = { kind: position.kind, afterId: outcome.lastId };
          if (first.batch_delay_ms > 0) await sleep(first.batch_delay_ms);
          continue;
        }
        // This kind of record is done: the next one (webhook signing secrets after credentials).
        if (position.kind < SEALED_RECORDS.length - 1) {
          position = { kind: position.kind + 1, afterId: null };
          continue;
        }
        const finished = await this.repository.finish(id, first.target_version, first.retire_previous);
        if (finished === 'succeeded') {
          if (first.retire_previous) ring.retireBelow(first.target_version);
          const done = await this.repository.findRotation(id);
          if (done) onBatch(await this.present(done));
          this.logger.info({ keyRotationId: id, records: done?.records_rewrapped, targetVersion: first.target_version }, 'key rotation succeeded');
          return 'done';
        }
        // Records were written under an older key after this pass went by them: a process
        // still runs with an older PATCHBAY_MASTER_KEY. Another pass, a few times.
        passes += 1;
        if (passes >= MAX_PASSES) {
          await this.repository.fail(id, `records are still being written under an older key version after ${MAX_PASSES} passes: a server process runs with an older PATCHBAY_MASTER_KEY`);
          return 'done';
        }
        await this.repository.nextPass(id);
        position = parsePosition(null);
      }
    } catch (error) {
      // A database error: the lease lapses and this or another process resumes from the last batch.
      this.logger.error({ keyRotationId: id, err: { message: (error as Error).message } }, 'key rotation interrupted; it resumes from its last batch');
      return 'held';
    }
  }

  /** In a server: looks for a rotation nobody runs every few seconds, and runs it. */
  startWorker(): void {
    this.worker = setInterval(() => {
      void this.repository
        .findRunningRotation()
        .then((row) => (row ? this.kick(row.id) : undefined))
        .catch(() => undefined);
    }, WORKER_POLL_MS);
    this.worker.unref();
    void this.repository.findRunningRotation().then((row) => (row ? this.kick(row.id) : undefined)).catch(() => undefined);
  }

  private kick(id: string): void {
    if (this.running || this.stopped) return;
    this.running = this.run(id)
      .catch((error: Error) => this.logger.error({ keyRotationId: id, err: { message: error.message } }, 'key rotation worker error'))
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Stops the worker; a batch in progress finishes (its transaction commits or rolls back). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.worker);
    await this.running;
  }

  private requireRing(): KeyRing {
    if (!this.ring || !this.opened) throw new Error('the key ring is not open');
    return this.ring;
  }

  private async present(row: KeyRotationRow): Promise<ApiKeyRotation> {
    return this.format(row, await this.repository.minDecryptionVersion());
  }

  private format(row: KeyRotationRow, minDecryptionVersion: number): ApiKeyRotation {
    const iso = (value: Date | string) => new Date(value).toISOString();
    return {
      id: row.id,
      status: row.status,
      target_version: row.target_version,
      records_total: row.records_total,
      records_rewrapped: row.records_rewrapped,
      batch_size: row.batch_size,
      batch_delay_ms: row.batch_delay_ms,
      retire_previous: row.retire_previous,
      min_decryption_version: minDecryptionVersion,
      error: row.error,
      started_at: iso(row.started_at),
      updated_at: iso(row.updated_at),
      finished_at: row.finished_at ? iso(row.finished_at) : null,
    };
  }
}
