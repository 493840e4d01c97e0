/**
 * The bundled OpenAPI documents and the provider catalog, as data. The server validates
 * against these, the mock serves them and the tests read them: one artifact for all.
 * Node only (reads files); the types live in the main entry.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { apiNames, type ApiName } from './generated/index.js';
import { operationsOf, type SpecOperation } from './operations.js';

// PATCHBAY_BUNDLES_DIR serves another build of the specs (the spec-flow test uses it).
const bundlesDir = process.env.PATCHBAY_BUNDLES_DIR
  ? pathToFileURL(`${process.env.PATCHBAY_BUNDLES_DIR.replace(/\/+$/, '')}/`)
  : new URL('../bundles/', import.meta.url);

/** An OpenAPI 3.1 document, loosely typed: consumers that need more use the generated types. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [key: string]: unknown };
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export { apiNames, type ApiName };

/** The absolute path of an API's bundle (JSON). */
export function bundlePath(api: ApiName): string {
  return new URL(`${api}.json`, bundlesDir).pathname;
}

/** A fresh copy of an API's bundled document (callers may mutate it: validators do). */
export function loadDocument(api: ApiName): OpenApiDocument {
  return JSON.parse(readFileSync(new URL(`${api}.json`, bundlesDir), 'utf8')) as OpenApiDocument;
}

/** The provider catalog as built from specs/providers/*.yaml, validated against `Provider`. */
export function loadProviderCatalog(): unknown[] {
  const { providers } = JSON.parse(readFileSync(new URL('providers.json', bundlesDir), 'utf8')) as { providers: unknown[] };
  return providers;
}

/** Every operation of every API's bundle, as `operationsOf` (./operations.ts) reads it. */
export function loadOperations(apis: readonly ApiName[] = apiNames): SpecOperation<ApiName>[] {
  return apis.flatMap((api) => operationsOf(loadDocument(api), api));
}
