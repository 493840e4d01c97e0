/** What the reference should show of an operation (as `@patchbay/api-types/operations` reads
 * it from the bundle): the examples of its request body and responses, the way Redoc 2
 * presents them (one sample per content type; an "Example" dropdown titled by summary, else by
 * name, when a content type has several named examples). */
import type { SpecMediaType, SpecOperation } from '@patchbay/api-types/operations';

/** An example as the reference should show it. */
export interface ExpectedSample {
  mediaType: string;
  /** The title in Redoc's "Example" dropdown; null when the content type has one example. */
  example: string | null;
  value: unknown;
}

/** The examples of one content map; a content type without any (Redoc then generates a
 * sample from the schema) has nothing of the spec's to compare and is left out. */
function examplesOf(content: Record<string, SpecMediaType>): ExpectedSample[] {
  return Object.values(content).flatMap(({ mediaType, examples, hasExample, example }) => {
    if (examples.length > 0) {
      return examples.map(({ name, summary, value }) => ({ mediaType, example: examples.length > 1 ? summary || name : null, value }));
    }
    return hasExample ? [{ mediaType, example: null, value: example }] : [];
  });
}

/** The request body's examples. */
export function requestExamples(operation: SpecOperation): ExpectedSample[] {
  return operation.requestBody ? examplesOf(operation.requestBody.content) : [];
}

/** The examples of each response that has any, by status code. */
export function responseExamples(operation: SpecOperation): Record<string, ExpectedSample[]> {
  return Object.fromEntries(
    Object.entries(operation.responses)
      .map(([status, response]) => [status, examplesOf(response.content)] as const)
      .filter(([, samples]) => samples.length > 0),
  );
}

/** The 2xx statuses whose response has a body: lint requires an example on each. */
export function successStatusesWithBody(operation: SpecOperation): string[] {
  return Object.entries(operation.responses)
    .filter(([status, response]) => status.startsWith('2') && Object.keys(response.content).length > 0)
    .map(([status]) => status);
}

/** Every string under a `credentials` member, at any depth: the secrets a request example sends. */
export function credentialValues(value: unknown, underCredentials = false): string[] {
  if (typeof value === 'string') return underCredentials ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((item) => credentialValues(item, underCredentials));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => credentialValues(item, underCredentials || key === 'credentials'));
  }
  return [];
}
