/** Checks a response body against the schema the spec documents for it, so a contract test
 * fails when either side drifts from the spec, not only when a field it looks at changes.
 * Which schema that is comes from the one walk over the spec (`@patchbay/api-types/operations`);
 * this file only compiles it. */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { apiNames, loadDocument, loadOperations } from '@patchbay/api-types/documents';

const ajv = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv);
for (const api of apiNames) ajv.addSchema(loadDocument(api), `patchbay:${api}`);
const operations = new Map(loadOperations().map((operation) => [operation.operationId, operation]));

/** Returns the violations of `body` against the documented response (empty when it conforms). */
export function specViolations(operationId: string, status: number, body: unknown, mediaType?: string): string[] {
  const operation = operations.get(operationId);
  if (!operation) return [`no operation '${operationId}' in the specs`];
  const response = operation.responses[String(status)];
  if (!response) return [`${operationId} documents no ${status} response`];
  const types = Object.keys(response.content);
  const type = mediaType ?? types[0];
  if (!type || !types.includes(type)) return [`${operationId} ${status} documents no ${mediaType} body (has ${types.join(', ')})`];
  const ref = `patchbay:${operation.api}${response.content[type]!.schemaPointer}`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}
