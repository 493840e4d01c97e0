/**
 * From a stored connection and what a caller asks (a merge patch, a replacement, new
 * credentials) to the change to write: the new draft and status, the new credentials and
 * their summary, and the names of what changed, which the audit trail records.
 */
import { invalid, type FieldIssue } from '../../platform/errors.js';
import type { Provider } from '../providers/catalog.js';
import { draftOf, normaliseLinks, type ConnectionDraft } from './drafts.js';
import { transitionConflict } from './errors.js';
import type { ConnectionRow } from './format.js';
import { changedKeys, mergePatch } from './merge-patch.js';
import type { ConnectionRules } from './rules.js';
import { canRequest, settleStatus } from './status.js';
import type { ApiConnectionEvent, Caller, ConnectionStatus, CredentialSummary, PlainCredentials, Summarise } from './types.js';

/** What a write of a connection changes, in domain terms; the repository stores it. */
export interface ConnectionChanges {
  draft: ConnectionDraft;
  status: ConnectionStatus;
  /** New credentials, with their summary; `{}` removes them. Left out: kept as they are. */
  credentials?: { plain: PlainCredentials; summary: CredentialSummary };
}

export interface ChangePlan extends ConnectionChanges {
  action: ApiConnectionEvent['action'];
  changed: string[];
}

/** What the caller asks for, besides credentials. */
export type ChangeRequest =
  | { kind: 'patch'; patch: Record<string, unknown> }
  | { kind: 'replace'; draft: ConnectionDraft; status: ConnectionStatus | undefined }
  | { kind: 'credentials' };

const SCALARS = ['reference', 'name', 'description', 'environment', 'enabled', 'priority', 'status_message'] as const;
const NULL_CLEARS = new Set(['reference', 'description', 'status_message']);
const MAPS = ['settings', 'sync_config', 'metadata'] as const;

/** Merges a patch into a draft: `null` clears a member (or resets it to its default). */
export function applyPatch(before: ConnectionDraft, patch: Record<string, unknown>): ConnectionDraft {
  const draft: ConnectionDraft = { ...before };
  const members = draft as unknown as Record<string, unknown>;
  for (const key of SCALARS) {
    if (key in patch) members[key] = patch[key] ?? (NULL_CLEARS.has(key) ? null : before[key]);
  }
  for (const key of MAPS) {
    if (key in patch) members[key] = patch[key] === null ? {} : mergePatch(before[key], patch[key]);
  }
  if ('tags' in patch) draft.tags = (patch.tags as string[] | null) ?? [];
  if ('linked_resources' in patch) draft.linked_resources = normaliseLinks((patch.linked_resources as Parameters<typeof normaliseLinks>[0] | null) ?? []);
  return draft;
}

/**
 * Checks the request against the rules (a refused status transition first, then every
 * invalid member at once) and plans the write. `newCredentials` makes the complete new set
 * (opened only once the caller may write it), or is undefined to keep the stored ones.
 */
export function planChange(
  rules: ConnectionRules,
  summarise: Summarise,
  caller: Pick<Caller, 'scopes'>,
  row: ConnectionRow,
  provider: Provider,
  request: ChangeRequest,
  newCredentials: (() => PlainCredentials) | undefined,
  action: ApiConnectionEvent['action'],
): ChangePlan {
  const before = draftOf(row);
  const draft = request.kind === 'patch' ? applyPatch(before, request.patch) : request.kind === 'replace' ? request.draft : before;
  const requested = request.kind === 'patch' ? (request.patch.status as ConnectionStatus | undefined) : request.kind === 'replace' ? request.status : undefined;

  // Rights first: a caller without credentials:write learns nothing from validating secrets.
  if (request.kind !== 'credentials') {
    rules.requireCredentialsWrite(caller, provider.slug, { credentials: newCredentials !== undefined, settingsBefore: before.settings, settingsAfter: draft.settings });
  }
  const credentials = newCredentials?.();

  if (request.kind !== 'credentials') {
    const issues: FieldIssue[] = rules.draft(provider, draft);
    if (credentials !== undefined) issues.push(...rules.credentials(provider.slug, credentials, 'partial'));
    if (requested !== undefined && !canRequest(row.status, requested)) throw transitionConflict(row.status, requested);
    if (issues.length) throw invalid(issues);
  }

  const changed: string[] = [];
  for (const key of [...SCALARS.slice(0, 6), 'tags', 'linked_resources', 'status_message'] as const) {
    if (JSON.stringify(before[key]) !== JSON.stringify(draft[key])) changed.push(key);
  }
  for (const key of MAPS) changed.push(...changedKeys(key, before[key], draft[key]));

  const plan: ChangePlan = { draft, status: row.status, action, changed };
  // Without new credentials, the stored summary says which fields are set.
  let complete = rules.credentialsComplete(row.provider, credentials ?? Object.fromEntries(Object.keys(row.credentials_summary).map((k) => [k, 'set'])));
  if (credentials !== undefined) {
    const summary = summarise(row.provider, row.tenant_id, credentials, row.credentials_summary, new Date());
    const fields = new Set([...Object.keys(summary), ...Object.keys(row.credentials_summary)]);
    const credentialChanges = [...fields].filter((f) => summary[f]?.fingerprint !== row.credentials_summary[f]?.fingerprint).map((f) => `credentials.${f}`);
    if (credentialChanges.length > 0) {
      changed.push(...credentialChanges.sort());
      plan.credentials = { plain: credentials, summary };
    }
    complete = rules.credentialsComplete(row.provider, credentials);
  }
  plan.status = settleStatus(requested ?? row.status, complete);
  if (plan.status !== row.status) changed.push('status');
  return plan;
}
