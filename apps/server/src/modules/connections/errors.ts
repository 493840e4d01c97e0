/** The expected failures of the connection use cases, worded as clients read them. */
import { DomainError } from '../../platform/errors.js';
import { REQUESTABLE_TRANSITIONS } from './status.js';
import type { ConnectionStatus, Environment } from './types.js';

export const connectionNotFound = (id: string) => new DomainError('not_found', `No connection ${id} in this tenant.`);

/** A conditional write whose precondition the connection does not meet (current: its version, null when it does not exist). */
export const versionMismatch = (current: number | null) =>
  new DomainError(
    'version_mismatch',
    current === null
      ? 'The connection does not exist, so the precondition (If-Match) cannot hold; nothing was written.'
      : `The precondition does not hold for the connection's current version ${current}; read it again and retry.`,
    { details: { current_version: current } },
  );

export const archivedConflict = (id: string) =>
  new DomainError('conflict', `Connection ${id} is archived and can no longer change.`, { details: { allowed_transitions: [] } });

export function transitionConflict(from: ConnectionStatus, to: ConnectionStatus): DomainError {
  const allowed = REQUESTABLE_TRANSITIONS[from];
  return new DomainError('conflict', `A ${from} connection cannot be set to ${to}${allowed.length ? `; allowed: ${allowed.join(', ')}` : ''}.`, {
    issues: [{ pointer: '/status', message: `cannot go from ${from} to ${to}` }],
    details: { allowed_transitions: allowed },
  });
}

export const referenceTaken = (draft: { reference: string | null; environment: Environment }, holderId: string | undefined) =>
  new DomainError('conflict', `A connection with reference '${draft.reference}' already exists in ${draft.environment}.`, {
    issues: [{ pointer: '/reference', message: `is already used${holderId ? ` by ${holderId}` : ''}` }],
  });

/** Stored credentials that do not open under the key version their row names: a 500 of its own. */
export const credentialsUndecryptable = (id: string, keyVersion: number) =>
  new DomainError(
    'credentials_undecryptable',
    `The stored credentials of connection ${id} do not open under key version ${keyVersion}; the operator must restore that key. Nothing was changed.`,
  );
