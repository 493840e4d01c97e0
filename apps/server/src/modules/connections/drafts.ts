/**
 * A draft: the members of a connection a caller can write, before the rules check them.
 * Create and replace build one from a whole body (what is left out takes its default);
 * update starts from the stored row and merges the patch in.
 */
import type { LinkedResourceRow } from '../../platform/db/schema.js';
import type { ConnectionRow } from './format.js';
import type { Environment } from './types.js';

export interface ConnectionDraft {
  reference: string | null;
  name: string;
  description: string | null;
  environment: Environment;
  enabled: boolean;
  priority: number;
  settings: Record<string, unknown>;
  sync_config: Record<string, { inbound?: boolean; outbound?: boolean }>;
  metadata: Record<string, string>;
  tags: string[];
  linked_resources: LinkedResourceRow[];
  status_message: string | null;
}

/** A draft from a full body (create, replace): what is left out takes its default. */
export function draftFromBody(body: Record<string, unknown>, provider: { name: string }): ConnectionDraft {
  return {
    reference: (body.reference as string | null | undefined) ?? null,
    name: (body.name as string | undefined) ?? provider.name,
    description: (body.description as string | null | undefined) ?? null,
    environment: (body.environment as Environment | undefined) ?? 'production',
    enabled: (body.enabled as boolean | undefined) ?? true,
    priority: (body.priority as number | undefined) ?? 0,
    settings: (body.settings as Record<string, unknown> | undefined) ?? {},
    sync_config: (body.sync_config as ConnectionDraft['sync_config'] | undefined) ?? {},
    metadata: (body.metadata as Record<string, string> | undefined) ?? {},
    tags: (body.tags as string[] | undefined) ?? [],
    linked_resources: normaliseLinks((body.linked_resources as LinkedResourceRow[] | undefined) ?? []),
    status_message: (body.status_message as string | null | undefined) ?? null,
  };
}

/** The draft a stored connection stands for. */
export function draftOf(row: ConnectionRow): ConnectionDraft {
  return {
    reference: row.reference,
    name: row.name,
    description: row.description,
    environment: row.environment,
    enabled: row.enabled,
    priority: row.priority,
    settings: row.settings,
    sync_config: row.sync_config,
    metadata: row.metadata,
    tags: row.tags,
    linked_resources: row.linked_resources,
    status_message: row.status_message,
  };
}

export function normaliseLinks(links: Partial<LinkedResourceRow>[]): LinkedResourceRow[] {
  return links.map((l) => ({ object_type: l.object_type!, object_id: l.object_id!, status: l.status ?? 'active', status_message: l.status_message ?? null }));
}
