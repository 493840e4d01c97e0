// Validates the provider catalog: each file against the spec's own `Provider` schema, and
// the JSON Schemas inside it for what the API promises about them (secrets write-only,
// settings free of secrets, schemas that compile).
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { isSecretName } from '../lint/patchbay-plugin.js';

function newAjv(options = {}) {
  const ajv = new Ajv2020({ allErrors: true, ...options });
  addFormats.default ? addFormats.default(ajv) : addFormats(ajv);
  return ajv;
}

/** The annotation on a credentials property that allows its summary a hint of the value
 * (decision 0027): `last4` is the only hint there is. */
const HINT = 'x-patchbay-hint';
const HINTS = ['last4'];

/** @returns {string[]} one line per problem, naming the file and the member. */
export function validateCatalog(entries, connectionsDocument) {
  const problems = [];
  const providerSchema = connectionsDocument?.components?.schemas?.Provider;
  if (!providerSchema) return ['the connections API has no components.schemas.Provider'];

  // OpenAPI annotations (example, ...) are not JSON Schema keywords: the document is not strict.
  const documentAjv = newAjv({ strict: false });
  documentAjv.addSchema({ ...connectionsDocument, $id: 'patchbay:connections' });
  const validateProvider = documentAjv.compile({ $ref: 'patchbay:connections#/components/schemas/Provider' });
  // A provider's own schemas are checked strictly: a typo in a keyword is a bug. Our one
  // annotation, `x-patchbay-hint`, is declared so; where it may stand is checked below.
  const strictAjv = newAjv({ strict: true });
  strictAjv.addKeyword({ keyword: HINT, schemaType: 'string' });

  const seen = new Set();
  for (const { file, slug, provider } of entries) {
    const at = (pointer, message) => problems.push(`${file}${pointer ? ` ${pointer}` : ''}: ${message}`);
    if (!validateProvider(provider)) {
      for (const e of validateProvider.errors ?? []) at(e.instancePath || '/', e.message ?? 'is invalid');
      continue;
    }
    if (provider.slug !== slug) at('/slug', `must equal the file name ('${slug}')`);
    if (seen.has(provider.slug)) at('/slug', 'is used by another provider');
    seen.add(provider.slug);

    for (const kind of ['credentials_schema', 'settings_schema']) {
      try {
        strictAjv.compile(provider[kind]);
      } catch (error) {
        at(`/${kind}`, `does not compile as JSON Schema: ${error.message}`);
      }
      for (const name of provider[kind].required ?? []) {
        if (!(name in (provider[kind].properties ?? {}))) at(`/${kind}/required`, `names '${name}', which is not a property`);
      }
    }
    for (const [name, property] of Object.entries(provider.credentials_schema.properties ?? {})) {
      if (property.writeOnly !== true) at(`/credentials_schema/properties/${name}`, 'must be writeOnly: true (credentials are secrets)');
      if (HINT in property && !HINTS.includes(property[HINT])) at(`/credentials_schema/properties/${name}/${HINT}`, `must be one of ${HINTS.join(', ')}`);
      if (HINT in property && property.type !== 'string') at(`/credentials_schema/properties/${name}/${HINT}`, 'marks a string field only');
    }
    // A hint is the catalog's word on a named credential; anywhere else it would be ignored.
    for (const [where, schema] of [
      ['/credentials_schema', provider.credentials_schema],
      ['/credentials_schema/additionalProperties', provider.credentials_schema.additionalProperties],
      ['/settings_schema', provider.settings_schema],
      ...Object.entries(provider.settings_schema.properties ?? {}).map(([name, p]) => [`/settings_schema/properties/${name}`, p]),
    ]) {
      if (schema && typeof schema === 'object' && HINT in schema) at(`${where}/${HINT}`, 'only a property of credentials_schema may carry a hint (settings are returned whole)');
    }
    for (const name of Object.keys(provider.settings_schema.properties ?? {})) {
      if (isSecretName(name)) at(`/settings_schema/properties/${name}`, 'looks like a secret: move it to credentials_schema');
    }
    const entityNames = provider.sync_entities.map((e) => e.name);
    const duplicate = entityNames.find((n, i) => entityNames.indexOf(n) !== i);
    if (duplicate) at('/sync_entities', `names '${duplicate}' twice`);
  }
  return problems;
}
