/** The connection status lifecycle: which statuses a caller may ask for, from where. */
import type { ConnectionStatus } from './types.js';

/** From each status, the statuses a caller may request (asking for the current one is a no-op). */
export const REQUESTABLE_TRANSITIONS: Record<ConnectionStatus, readonly ConnectionStatus[]> = {
  pending_auth: ['disabled'],
  active: ['disabled'],
  error: ['active', 'disabled'],
  disabled: ['active'],
  archived: [],
};

export function canRequest(from: ConnectionStatus, to: ConnectionStatus): boolean {
  return from === to || REQUESTABLE_TRANSITIONS[from].includes(to);
}

/** Failed sync runs in a row that move an active connection to `error`. */
export const FAILURES_BEFORE_ERROR = 3;

/**
 * The status after a change of credentials or a request: a connection cannot be active
 * while it lacks required credentials, and becomes active when they are complete.
 */
export function settleStatus(status: ConnectionStatus, credentialsComplete: boolean): ConnectionStatus {
  if (status === 'active' && !credentialsComplete) return 'pending_auth';
  if (status === 'pending_auth' && credentialsComplete) return 'active';
  return status;
}
