/**
 * One PostgreSQL-dialect store: PGlite (embedded, data under PATCHBAY_DATA_DIR) by default,
 * a real PostgreSQL when DATABASE_URL is set. Migrations run at open, under an advisory
 * lock, so several server processes can start against one database at once.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import type { Logger } from '../logger.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface OpenedDatabase {
  db: Db;
  kind: 'pglite' | 'postgres';
  close: () => Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  logger: Logger;
  /** PostgreSQL: the pool's most connections (PATCHBAY_DB_POOL_SIZE); default 10. */
  poolSize?: number;
  /** Log every query's SQL text (never its parameters) at info: for counting what a request costs. */
  logQueries?: boolean;
}

const MIGRATION_LOCK = 7_241_986_113; // any constant: one advisory lock for our migrations

export async function openDatabase(options: DatabaseOptions): Promise<OpenedDatabase> {
  let opened: OpenedDatabase;
  if (options.databaseUrl) {
    const pg = await import('pg');
    // Keep timestamps and bigints as PostgreSQL sends them where it matters: timestamptz as Date.
    const pool = new pg.default.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    pool.on('error', (error) => options.logger.error({ err: { message: error.message } }, 'idle PostgreSQL client error'));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryLog(options) });
    opened = { db, kind: 'postgres', close: () => db.destroy() };
  } else {
    const [{ PGlite }, { PGliteDialect }, { pg_trgm }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('kysely-pglite-dialect'),
      import('@electric-sql/pglite/contrib/pg_trgm'),
    ]);
    mkdirSync(options.dataDir, { recursive: true });
    const release = lockDataDir(options.dataDir);
    let pglite;
    try {
      // pg_trgm: the text search's indexes (migration 10); PostgreSQL ships it as a contrib extension too.
      pglite = await PGlite.create({ dataDir: `${options.dataDir}/pglite`, extensions: { pg_trgm } });
    } catch (error) {
      release();
      throw error;
    }
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), log: queryLog(options) });
    opened = {
      db,
      kind: 'pglite',
      close: async () => {
        await db.destroy();
        release();
      },
    };
  }
  await migrate(opened.db, options.logger);
  return opened;
}

/** The embedded store's lock file, in its data directory: the pid of the process that holds it. */
export const LOCK_FILE = 'patchbay.lock';

/** Refused: another live process holds the data directory. */
export class DataDirLocked extends Error {}

/**
 * PGlite is one process's database: two processes on one data directory corrupt it. Takes the
 * directory's lock file (created exclusively, holding our pid); a lock whose pid is no longer
 * alive is stale (a crash or SIGKILL) and taken over. Returns the release, also run at exit.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLocked(`process ${holder} holds it (${file}); stop that process, or give this one another PATCHBAY_DATA_DIR`);
      }
      unlinkSync(file); // stale: its process is gone
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return release;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function queryLog(options: DatabaseOptions) {
  if (!options.logQueries) return undefined;
  return (event: LogEvent) => options.logger.info({ sql: event.query.sql, ms: Math.round(event.queryDurationMillis * 10) / 10 }, 'query');
}

/** Applies the migrations that are not applied yet, each in its own transaction. */
export async function migrate(db: Db, logger: Logger): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`.execute(conn);
      const applied = await sql<{ version: number }>`SELECT version FROM schema_migrations`.execute(conn);
      const done = new Set(applied.rows.map((r) => Number(r.version)));
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        await conn.transaction().execute(async (tx) => {
          // One statement at a time: both drivers prepare each query, and a prepared
          // statement may hold only one command.
          for (const statement of splitStatements(migration.sql)) await sql.raw(statement).execute(tx);
          await sql`INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`.execute(tx);
        });
        logger.info({ version: migration.version, name: migration.name }, 'applied migration');
      }
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });
}

function splitStatements(script: string): string[] {
  return script
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/**
 * Reads the tables every authenticated request reads (the API key, then the connection) by keys
 * that match nothing, so that the store's catalog caches are filled at start rather than on a
 * user's first request (issue 13: on PGlite the first getConnection took 3.6× the median without
 * it, 2.6× with it). Writes nothing.
 */
export async function warmUpStore(db: Db): Promise<void> {
  await sql`SELECT * FROM api_keys WHERE key_hash = ${Buffer.alloc(32)} LIMIT 1`.execute(db);
  await sql`SELECT * FROM connections WHERE tenant_id = '' AND id = '' LIMIT 1`.execute(db);
}

/** A cheap query that proves the database answers (readiness). */
export async function ping(db: Db): Promise<boolean> {
  await sql`SELECT 1`.execute(db);
  return true;
}
