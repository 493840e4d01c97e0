/** Checks a response body against the schema the spec documents for it, so a contract test
 * fails when either side drifts from the spec, not only when a field it looks at changes. */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { apiNames, loadDocument } from '@patchbay/api-types/documents';

type Operation = { operationId: string; responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }> };

const ajv = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv);
const operations = new Map<string, { api: string; pointer: string; operation: Operation }>();
for (const api of apiNames) {
  const document = loadDocument(api);
  ajv.addSchema(document, `patchbay:${api}`);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, Operation>)) {
      if (!operation?.operationId) continue;
      const pointer = `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}`;
      operations.set(operation.operationId, { api, pointer, operation });
    }
  }
}

/** Returns the violations of `body` against the documented response (empty when it conforms). */
export function specViolations(operationId: string, status: number, body: unknown, mediaType?: string): string[] {
  const entry = operations.get(operationId);
  if (!entry) return [`no operation '${operationId}' in the specs`];
  let response = entry.operation.responses[String(status)];
  let responsePointer = `${entry.pointer}/responses/${status}`;
  if (!response) return [`${operationId} documents no ${status} response`];
  if (response.$ref) {
    responsePointer = response.$ref;
    const document = loadDocument(entry.api as (typeof apiNames)[number]);
    const name = response.$ref.split('/').pop()!;
    response = (document.components?.responses as Record<string, typeof response>)[name]!;
  }
  const types = Object.keys(response.content ?? {});
  const type = mediaType ?? types[0];
  if (!type || !types.includes(type)) return [`${operationId} ${status} documents no ${mediaType} body (has ${types.join(', ')})`];
  const ref = `patchbay:${entry.api}${responsePointer}/content/${type.replaceAll('/', '~1')}/schema`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}
