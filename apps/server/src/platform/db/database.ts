/**
 * One PostgreSQL-dialect store: PGlite (embedded, data under PATCHBAY_DATA_DIR) by default,
 * a real PostgreSQL when DATABASE_URL is set. Migrations run at open, under an advisory
 * lock, so several server processes can start against one database at once.
 */
import { mkdirSync } from 'node:fs';
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
  /** Log every query's SQL text (never its parameters) at info: for counting what a request costs. */
  logQueries?: boolean;
}

const MIGRATION_LOCK = 7_241_986_113; // any constant: one advisory lock for our migrations

export async function openDatabase(options: DatabaseOptions): Promise<OpenedDatabase> {
  let opened: OpenedDatabase;
  if (options.databaseUrl) {
    const pg = await import('pg');
    // Keep timestamps and bigints as PostgreSQL sends them where it matters: timestamptz as Date.
    const pool = new pg.default.Pool({ connectionString: options.databaseUrl, max: 10 });
    pool.on('error', (error) => options.logger.error({ err: { message: error.message } }, 'idle PostgreSQL client error'));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryLog(options) });
    opened = { db, kind: 'postgres', close: () => db.destroy() };
  } else {
    const [{ PGlite }, { PGliteDialect }] = await Promise.all([import('@electric-sql/pglite'), import('kysely-pglite-dialect')]);
    mkdirSync(options.dataDir, { recursive: true });
    const pglite = await PGlite.create({ dataDir: `${options.dataDir}/pglite` });
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), log: queryLog(options) });
    opened = { db, kind: 'pglite', close: () => db.destroy() };
  }
  await migrate(opened.db, options.logger);
  return opened;
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

/** A cheap query that proves the database answers (readiness). */
export async function ping(db: Db): Promise<boolean> {
  await sql`SELECT 1`.execute(db);
  return true;
}
