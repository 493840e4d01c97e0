/**
 * Validates a connection's credentials and settings against its provider's schemas from
 * the catalog. Every validator is compiled once, when the catalog is loaded: nothing is
 * compiled on a request. Violations come back as field issues with pointers into the body.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FieldIssue } from '../../platform/errors.js';
import type { Provider } from './catalog.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

export interface ProviderValidators {
  /** The full credentials schema: every required field present (replaceConnectionCredentials). */
  credentials: ValidateFunction;
  /** The same schema with nothing required: a connection may lack some credentials and wait in pending_auth. */
  partialCredentials: ValidateFunction;
  settings: ValidateFunction;
  requiredCredentials: string[];
  entities: Map<string, Set<'inbound' | 'outbound'>>;
  /** Credential fields the catalog marks `x-patchbay-hint: last4`: the only ones whose summary
   * may show the value's last 4 characters (decision 0027). */
  hintedCredentials: ReadonlySet<string>;
  /** Settings that say where secrets are sent (`format: uri`, or `x-patchbay-endpoint: true`;
   * `x-patchbay-endpoint: false` opts a URL out): changing one needs credentials:write. */
  endpointSettings: string[];
}

function hintedCredentialsOf(credentialsSchema: unknown): ReadonlySet<string> {
  const properties = (credentialsSchema as { properties?: Record<string, { 'x-patchbay-hint'?: unknown }> }).properties ?? {};
  return new Set(Object.entries(properties).filter(([, property]) => property['x-patchbay-hint'] === 'last4').map(([name]) => name));
}

function endpointSettingsOf(settingsSchema: unknown): string[] {
  const properties = ((settingsSchema as { properties?: Record<string, { format?: string; 'x-patchbay-endpoint'?: boolean }> }).properties ?? {});
  return Object.entries(properties)
    .filter(([, property]) => property['x-patchbay-endpoint'] ?? property.format === 'uri')
    .map(([name]) => name);
}

/** Turns Ajv errors into field issues under a body member. Values are never quoted: a
 * credential must not reach an error message. */
export function toFieldIssues(errors: ErrorObject[] | null | undefined, base: string): FieldIssue[] {
  return (errors ?? []).map((e) => {
    const params = e.params as { missingProperty?: string; additionalProperty?: string };
    const member = params.missingProperty ?? params.additionalProperty;
    const pointer = `${base}${e.instancePath}${member ? `/${member}` : ''}`;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') message = 'is required';
    else if (e.keyword === 'additionalProperties') message = 'is not a field of this provider';
    return { pointer, message };
  });
}

export function compileProviderValidators(providers: readonly Provider[]): Map<string, ProviderValidators> {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  return new Map(
    providers.map((provider) => {
      const credentialsSchema = provider.credentials_schema as Record<string, unknown> & { required?: string[] };
      return [
        provider.slug,
        {
          credentials: ajv.compile(credentialsSchema),
          partialCredentials: ajv.compile({ ...credentialsSchema, required: [] }),
          settings: ajv.compile(provider.settings_schema),
          requiredCredentials: credentialsSchema.required ?? [],
          entities: new Map(provider.sync_entities.map((e) => [e.name, new Set(e.directions)])),
          endpointSettings: endpointSettingsOf(provider.settings_schema),
          hintedCredentials: hintedCredentialsOf(credentialsSchema),
        },
      ];
    }),
  );
}
