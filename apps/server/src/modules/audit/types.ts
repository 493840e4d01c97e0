/** The audit feature's API objects and what a use case records. */
import type { ConnectionsSchema } from '@patchbay/api-types';
import type { Acting } from '../../platform/caller.js';

export type { Acting };

export type ApiAuditEvent = ConnectionsSchema<'AuditEvent'>;
export type AuditAction = ApiAuditEvent['action'];
export type AuditTargetType = ApiAuditEvent['target']['type'];

/** One entry to record. `changed` and `details` carry names and non-secret facts only. */
export interface AuditEntry {
  tenantId: string | null;
  action: AuditAction;
  target: { type: AuditTargetType; id: string | null };
  connectionId?: string | null;
  changed?: string[];
  details?: Record<string, unknown>;
  at?: Date;
}
