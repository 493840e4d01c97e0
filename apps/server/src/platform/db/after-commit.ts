/**
 * Work to run once a transaction has committed: never inside it, never when it rolls back.
 * A transaction opened with `transaction()` here keeps a list that `afterCommit()` adds to
 * (the webhooks outbox nudges its delivery worker this way, decision 0024); the callbacks run,
 * in order, right after the commit, before `transaction()` resolves. They must be quick and
 * must not throw (they only schedule work). A transaction opened any other way has no list:
 * `afterCommit()` says so by returning false, and the caller falls back (the worker's poll).
 */
import type { Db } from './database.js';

const callbacks = new WeakMap<Db, (() => void)[]>();

/** Runs `work` in a new transaction, then the callbacks registered on it once it committed. */
export async function transaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  const after: (() => void)[] = [];
  const result = await db.transaction().execute((tx) => {
    callbacks.set(tx, after);
    return work(tx);
  });
  for (const callback of after) callback();
  return result;
}

/** Registers `callback` to run after `tx` commits; false when `tx` was not opened by `transaction()`. */
export function afterCommit(tx: Db, callback: () => void): boolean {
  const list = callbacks.get(tx);
  if (!list) return false;
  list.push(callback);
  return true;
}
