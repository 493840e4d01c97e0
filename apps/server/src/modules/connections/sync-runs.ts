/**
 * A sync worker's report of one run: what it is recorded as, and how the connection's health
 * follows it. FAILURES_BEFORE_ERROR failed runs in a row move an active connection to
 * `error`; a successful run brings it back. Pure rules: the service reads and writes.
 */
import type { LastErrorRow } from '../../platform/db/schema.js';
import { DomainError, invalid, type FieldIssue } from '../../platform/errors.js';
import type { ConnectionRow } from './format.js';
import type { ConnectionRules } from './rules.js';
import { FAILURES_BEFORE_ERROR } from './status.js';
import type { ConnectionStatus, PlainCredentials } from './types.js';

export interface SyncRunReport {
  outcome: 'succeeded' | 'failed';
  entity?: string;
  direction?: 'inbound' | 'outbound';
  started_at?: string;
  finished_at?: string;
  records_processed?: number;
  records_failed?: number;
  error?: { code?: string; message: string };
}

const dateOrNull = (text: string | undefined): Date | null => (text ? new Date(text) : null);

/** Replaces every occurrence of a secret value (4 characters or more) with [redacted]. */
function scrubber(secrets: string[]): (text: string) => string {
  const values = secrets.filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => values.reduce((scrubbed, value) => scrubbed.split(value).join('[redacted]'), text);
}

/** The run to record, the connection's new health, and the fields that changed. */
export function planSyncRun(rules: ConnectionRules, row: ConnectionRow, report: SyncRunReport, openCredentials: () => PlainCredentials, now: Date) {
  const issues: FieldIssue[] = [];
  if (report.outcome === 'failed' && !report.error) issues.push({ pointer: '/error', message: 'is required when the outcome is failed' });
  issues.push(...rules.syncRun(row.provider, report.entity, report.direction));
  if (issues.length) throw invalid(issues);
  if (row.status === 'archived') throw new DomainError('conflict', `Connection ${row.id} is archived; it cannot record sync runs.`);

  // A worker's error text often quotes the request that failed: the connection's own secrets
  // are cut out of it before it is stored, shown or sent anywhere.
  const scrub = report.error ? scrubber(Object.values(openCredentials())) : (text: string) => text;
  const error: LastErrorRow | null = report.error
    ? { code: report.error.code === undefined ? null : scrub(report.error.code), message: scrub(report.error.message), occurred_at: (dateOrNull(report.finished_at) ?? now).toISOString() }
    : null;

  const succeeded = report.outcome === 'succeeded';
  const failures = succeeded ? 0 : row.consecutive_failures + 1;
  let status: ConnectionStatus = row.status;
  if (succeeded && status === 'error') status = 'active';
  if (!succeeded && status === 'active' && failures >= FAILURES_BEFORE_ERROR) status = 'error';
  const moved = status !== row.status;
  const changed = succeeded ? ['last_sync_at', 'last_error', 'consecutive_failures'] : ['last_error', 'consecutive_failures'];
  if (moved) changed.push('status', 'status_message');
  return {
    health: {
      consecutive_failures: failures,
      status,
      status_message: moved ? (succeeded ? null : `${failures} sync runs failed in a row`) : row.status_message,
      ...(succeeded ? { last_sync_at: dateOrNull(report.finished_at) ?? now, last_error: null } : { last_error: error }),
    },
    run: {
      outcome: report.outcome,
      entity: report.entity ?? null,
      direction: report.direction ?? null,
      started_at: dateOrNull(report.started_at),
      finished_at: dateOrNull(report.finished_at),
      records_processed: report.records_processed ?? null,
      records_failed: report.records_failed ?? null,
      error,
    },
    event: { action: succeeded ? ('sync_succeeded' as const) : ('sync_failed' as const), changed: changed.sort(), statusFrom: moved ? row.status : null, statusTo: moved ? status : null },
  };
}
