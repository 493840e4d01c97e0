/**
 * A sync worker's report of one run: recorded, and the connection's health follows it.
 * FAILURES_BEFORE_ERROR failed runs in a row move an active connection to `error`; a
 * successful run brings it back.
 */
import { DomainError, invalid, type FieldIssue } from '../../platform/errors.js';
import { connectionNotFound } from './errors.js';
import { toApiSyncRun } from './format.js';
import type { ConnectionsRepository } from './repository.js';
import type { ConnectionRules } from './rules.js';
import { FAILURES_BEFORE_ERROR } from './status.js';
import type { ApiSyncRun, Caller } from './types.js';

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

export class SyncRuns {
  constructor(
    private readonly repository: ConnectionsRepository,
    private readonly rules: ConnectionRules,
  ) {}

  async report(caller: Caller, id: string, report: SyncRunReport): Promise<ApiSyncRun> {
    const now = new Date();
    const runError = report.error ? { code: report.error.code ?? null, message: report.error.message, occurred_at: (report.finished_at ? new Date(report.finished_at) : now).toISOString() } : null;
    return this.repository.transaction(async (tx) => {
      // One read, locked: concurrent reports count failures one by one, and the checks below
      // see the same row the update writes (an archive cannot slip in between).
      const row = await tx.find(caller.tenantId, id, { forUpdate: true });
      if (!row) throw connectionNotFound(id);
      const issues: FieldIssue[] = [];
      if (report.outcome === 'failed' && !report.error) issues.push({ pointer: '/error', message: 'is required when the outcome is failed' });
      issues.push(...this.rules.syncRun(row.provider, report.entity, report.direction));
      if (issues.length) throw invalid(issues);
      if (row.status === 'archived') throw new DomainError('conflict', `Connection ${id} is archived; it cannot record sync runs.`);

      const succeeded = report.outcome === 'succeeded';
      const failures = succeeded ? 0 : row.consecutive_failures + 1;
      let status = row.status;
      if (succeeded && status === 'error') status = 'active';
      if (!succeeded && status === 'active' && failures >= FAILURES_BEFORE_ERROR) status = 'error';
      const moved = status !== row.status;
      const updated = await tx.recordHealth(
        row,
        {
          consecutive_failures: failures,
          status,
          status_message: moved ? (succeeded ? null : `${failures} sync runs failed in a row`) : row.status_message,
          ...(succeeded ? { last_sync_at: dateOrNull(report.finished_at) ?? now, last_error: null } : { last_error: runError }),
        },
        caller.actor,
        now,
      );
      const run = await tx.insertSyncRun(
        caller,
        id,
        {
          outcome: report.outcome,
          entity: report.entity ?? null,
          direction: report.direction ?? null,
          started_at: dateOrNull(report.started_at),
          finished_at: dateOrNull(report.finished_at),
          records_processed: report.records_processed ?? null,
          records_failed: report.records_failed ?? null,
          error: runError,
        },
        now,
      );
      const changed = succeeded ? ['last_sync_at', 'last_error', 'consecutive_failures'] : ['last_error', 'consecutive_failures'];
      if (moved) changed.push('status', 'status_message');
      await tx.appendEvent(caller, { connectionId: id, action: succeeded ? 'sync_succeeded' : 'sync_failed', changed: changed.sort(), statusFrom: moved ? row.status : null, statusTo: moved ? status : null, at: now });
      return toApiSyncRun(run, updated);
    });
  }
}
