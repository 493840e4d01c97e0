/**
 * A fresh PostgreSQL database for one test run, made through PATCHBAY_TEST_DATABASE_URL (a
 * role that may CREATE DATABASE; .ci/run provisions one with a password), dropped afterwards.
 * Where no server can be had, the PostgreSQL runs are reported as skipped outside CI, and
 * fail the run under CI (support/global-setup.ts).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The database the suite connects to in order to create and drop its own. */
export const ADMIN_URL = process.env.PATCHBAY_TEST_DATABASE_URL ?? process.env.PATCHBAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** What to do when there is no PostgreSQL. */
export const HOW_TO_GET_POSTGRES =
  "start one (Debian: `apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) and set PATCHBAY_TEST_DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/DB of a role that may CREATE DATABASE; .ci/run does both";

export interface TestDatabase {
  url: string;
  drop: () => Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase | { unavailable: string }> {
  const name = `patchbay_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end().catch(() => undefined);
    return { unavailable: `PostgreSQL at ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')} is not available (${(error as Error).message || (error as Error).name})` };
  }
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
