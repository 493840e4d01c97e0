/** Types of @patchbay/mock/msw (msw.mjs). */
import type { HttpHandler } from 'msw';

export interface PatchbayMockOptions {
  /** The bundled documents by API name: `{ connections, admin }` (`@patchbay/api-types/documents`'s `loadDocument`, or `/openapi/{api}.json`). */
  documents: Record<string, object>;
  /** The provider catalog (`loadProviderCatalog()`): what the stateful rules know of providers. */
  providers?: readonly unknown[];
  /** Where the app sends its API calls, e.g. `http://api.test`; any origin when left out. */
  baseUrl?: string;
  /** Remember writes, per API key, from the examples on (`Prefer: stateful=true` asks for it per request). */
  stateful?: boolean;
  /** Bounds of the stateful store (defaults: 50 keys, 500 connections per key). */
  limits?: { keys?: number; connectionsPerKey?: number; eventsPerConnection?: number };
}

export interface PatchbayMock {
  handlers: HttpHandler[];
  /** Forgets one key's changes, or every key's. */
  reset(key?: string): void;
}

export function createPatchbayMock(options: PatchbayMockOptions): PatchbayMock;
export function patchbayHandlers(options: PatchbayMockOptions): HttpHandler[];
