/** What the reference should show, read from the bundled document itself: its operations, and
 * the examples of each request body and response, the way Redoc 2 presents them (one sample
 * per content type; an "Example" dropdown titled by summary, else by name, when a content type
 * has several named examples). */
import type { OpenApiDocument } from '@patchbay/api-types/documents';
import { resolve } from '../support/operations.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface MediaTypeObject {
  example?: unknown;
  examples?: Record<string, { $ref?: string; summary?: string; value?: unknown }>;
}
interface OperationObject {
  operationId: string;
  summary?: string;
  requestBody?: { $ref?: string; content?: Record<string, MediaTypeObject> };
  responses?: Record<string, { $ref?: string; content?: Record<string, MediaTypeObject> }>;
}

export interface SpecOperation {
  operationId: string;
  method: string;
  path: string;
  summary: string;
  operation: OperationObject;
}

/** An example as the reference should show it. */
export interface ExpectedSample {
  mediaType: string;
  /** The title in Redoc's "Example" dropdown; null when the content type has one example. */
  example: string | null;
  value: unknown;
}

/** Every operation of the document, paths × methods, in document order. */
export function operationsOf(document: OpenApiDocument): SpecOperation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => method in item).map((method) => {
      const operation = item[method] as OperationObject;
      return { operationId: operation.operationId, method, path, summary: operation.summary ?? '', operation };
    }),
  );
}

/** The examples of one content map; a content type without any (Redoc then generates a
 * sample from the schema) has nothing of the spec's to compare and is left out. */
function examplesOf(document: OpenApiDocument, content: Record<string, MediaTypeObject> | undefined): ExpectedSample[] {
  return Object.entries(content ?? {}).flatMap(([mediaType, media]) => {
    const named = Object.entries(media.examples ?? {});
    if (named.length > 0) {
      return named.map(([name, reference]) => {
        const example = resolve(document, reference);
        return { mediaType, example: named.length > 1 ? example.summary || name : null, value: example.value };
      });
    }
    return 'example' in media ? [{ mediaType, example: null, value: media.example }] : [];
  });
}

/** The request body's examples. */
export function requestExamples(document: OpenApiDocument, operation: OperationObject): ExpectedSample[] {
  return operation.requestBody ? examplesOf(document, resolve(document, operation.requestBody).content) : [];
}

/** The examples of each response that has any, by status code. */
export function responseExamples(document: OpenApiDocument, operation: OperationObject): Record<string, ExpectedSample[]> {
  return Object.fromEntries(
    Object.entries(operation.responses ?? {})
      .map(([status, response]) => [status, examplesOf(document, resolve(document, response).content)] as const)
      .filter(([, samples]) => samples.length > 0),
  );
}

/** The 2xx statuses whose response has a body: lint requires an example on each. */
export function successStatusesWithBody(document: OpenApiDocument, operation: OperationObject): string[] {
  return Object.entries(operation.responses ?? {})
    .filter(([status, response]) => status.startsWith('2') && Object.keys(resolve(document, response).content ?? {}).length > 0)
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
