/**
 * What a connection's members must satisfy for its provider: settings and credentials by
 * the provider's schemas, sync_config by the entities and directions it syncs, linked
 * resources without duplicates. Validators are compiled once, when the catalog is loaded.
 */
import type { Caller } from '../../platform/caller.js';
import { DomainError, invalid, type FieldIssue } from '../../platform/errors.js';
import type { Provider, ProviderCatalog } from '../providers/catalog.js';
import { compileProviderValidators, toFieldIssues, type ProviderValidators } from '../providers/validation.js';
import type { ConnectionDraft } from './drafts.js';
import type { PlainCredentials } from './types.js';

const NO_HINTS: ReadonlySet<string> = new Set();

export class ConnectionRules {
  private readonly validators: Map<string, ProviderValidators>;

  constructor(private readonly catalog: ProviderCatalog) {
    this.validators = compileProviderValidators(catalog.all());
  }

  /** The catalog's provider, or a 400 on the body member that names it. */
  provider(slug: string, pointer = '/provider'): Provider {
    const provider = this.catalog.get(slug);
    if (!provider) throw invalid([{ pointer, message: `is not a provider in the catalog (see GET /v1/providers)` }]);
    return provider;
  }

  draft(provider: Provider, draft: ConnectionDraft): FieldIssue[] {
    const validators = this.validators.get(provider.slug)!;
    const issues: FieldIssue[] = [];
    if (!validators.settings(draft.settings)) issues.push(...toFieldIssues(validators.settings.errors, '/settings'));
    const supported = [...validators.entities.keys()];
    for (const [entity, directions] of Object.entries(draft.sync_config)) {
      const offered = validators.entities.get(entity);
      if (!offered) {
        issues.push({ pointer: `/sync_config/${entity}`, message: `is not an entity ${provider.slug} syncs (${supported.join(', ') || 'none'})` });
        continue;
      }
      for (const direction of ['inbound', 'outbound'] as const) {
        if (directions[direction] && !offered.has(direction)) issues.push({ pointer: `/sync_config/${entity}/${direction}`, message: `${provider.slug} does not sync ${entity} ${direction}` });
      }
    }
    const seen = new Set<string>();
    draft.linked_resources.forEach((link, index) => {
      const key = `${link.object_type}\u0000${link.object_id}`;
      if (seen.has(key)) issues.push({ pointer: `/linked_resources/${index}`, message: `links ${link.object_type} ${link.object_id} twice` });
      seen.add(key);
    });
    return issues;
  }

  /** `full`: every required field present (a replacement); `partial`: what is given is valid. */
  credentials(provider: string, credentials: PlainCredentials, mode: 'full' | 'partial'): FieldIssue[] {
    const validators = this.validators.get(provider)!;
    const validate = mode === 'full' ? validators.credentials : validators.partialCredentials;
    return validate(credentials) ? [] : toFieldIssues(validate.errors, '/credentials');
  }

  credentialsComplete(provider: string, credentials: PlainCredentials): boolean {
    return this.validators.get(provider)!.requiredCredentials.every((name) => typeof credentials[name] === 'string' && credentials[name] !== '');
  }

  /**
   * Field-level rights: a body that carries credentials, or that changes a setting the
   * provider marks as an endpoint (where the secrets would be sent), needs credentials:write
   * whatever the route. Checked before anything is validated or written.
   */
  requireCredentialsWrite(caller: Pick<Caller, 'scopes'>, provider: string, change: { credentials: boolean; settingsBefore?: Record<string, unknown>; settingsAfter: Record<string, unknown> }): void {
    if (caller.scopes.includes('credentials:write')) return;
    const issues: FieldIssue[] = [];
    if (change.credentials) issues.push({ pointer: '/credentials', message: 'needs the credentials:write scope' });
    for (const name of this.validators.get(provider)?.endpointSettings ?? []) {
      const before = change.settingsBefore?.[name];
      const after = change.settingsAfter[name];
      if (JSON.stringify(before) !== JSON.stringify(after)) issues.push({ pointer: `/settings/${name}`, message: 'is an endpoint setting: changing it needs the credentials:write scope' });
    }
    if (issues.length) {
      throw new DomainError('forbidden', 'Writing credentials or an endpoint setting needs the credentials:write scope.', { issues, details: { required_scopes: ['credentials:write'] } });
    }
  }

  /** Every endpoint setting of the catalog as an event names it (`settings.base_url`): a
   * change to one is a credential change for the audit trail. */
  endpointFields(): Set<string> {
    return new Set([...this.validators.values()].flatMap((v) => v.endpointSettings.map((name) => `settings.${name}`)));
  }

  /** The provider's credential fields whose summary may show last4 (none for a provider not in the catalog). */
  hintedCredentials(provider: string): ReadonlySet<string> {
    return this.validators.get(provider)?.hintedCredentials ?? NO_HINTS;
  }

  /** A sync run's entity and direction, checked against what the provider syncs. */
  syncRun(provider: string, entity: string | undefined, direction: 'inbound' | 'outbound' | undefined): FieldIssue[] {
    if (entity === undefined) return [];
    const directions = this.validators.get(provider)?.entities.get(entity);
    if (!directions) return [{ pointer: '/entity', message: `is not an entity ${provider} syncs` }];
    if (direction !== undefined && !directions.has(direction)) return [{ pointer: '/direction', message: `${provider} does not sync ${entity} ${direction}` }];
    return [];
  }
}
