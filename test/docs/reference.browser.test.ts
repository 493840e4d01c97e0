/** The HTML reference at /docs/{api}, in a real headless chromium: Redoc renders every
 * operation of the bundle the server publishes, its request and response samples are the
 * spec's own examples, and the page works offline (no console error, nothing fetched from
 * anywhere but the server). What the server sends without a browser is in
 * server/openapi-and-docs.test.ts. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { apiNames, loadDocument, loadOperations, type ApiName } from '@patchbay/api-types/documents';
import { browserSkipReason, launchChromium, recordOffences, type PageOffences } from '../support/browser.js';
import { readOperations, renderedOperationIds, type ShownOperation, type ShownSample } from './redoc-page.js';
import { credentialValues, requestExamples, responseExamples, successStatusesWithBody, type ExpectedSample } from './spec-examples.js';

interface RenderedReference {
  offences: PageOffences;
  renderedIds: string[];
  operations: Map<string, ShownOperation>;
}

/** The operations of the bundle's OpenAPI 3.1 `webhooks` section (the events Patchbay sends):
 * the reference documents them beside the paths. */
function webhookOperationIds(api: ApiName): string[] {
  const webhooks = ((loadDocument(api) as unknown as { webhooks?: Record<string, Record<string, { operationId?: string }>> }).webhooks ?? {});
  return Object.values(webhooks).flatMap((item) => Object.values(item).flatMap((operation) => (operation?.operationId ? [operation.operationId] : [])));
}

/** Loads /docs/{api} in a fresh context and reads everything Redoc shows of its operations. */
async function renderReference(browser: Browser, serverUrl: string, api: ApiName): Promise<RenderedReference> {
  const operationIds = loadOperations([api]).map((o) => o.operationId);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    const offences = recordOffences(context, new URL(serverUrl).host);
    const page = await context.newPage();
    // networkidle: whatever the page fetches once rendered (images, say) is fetched, and recorded.
    await page.goto(`${serverUrl}/docs/${api}`, { waitUntil: 'networkidle', timeout: 30_000 });
    // Every operation of the bundle, or give up: the tests below name whichever is missing.
    await page
      .waitForFunction((count) => document.querySelectorAll('[data-section-id^="operation/"]').length >= count, operationIds.length, { timeout: 20_000 })
      .catch(() => undefined);
    const shown = await readOperations(page, operationIds);
    return { offences, renderedIds: await renderedOperationIds(page), operations: new Map(shown.map((o) => [o.operationId, o])) };
  } finally {
    await context.close();
  }
}

/** A shown sample in the spec's terms: the JSON viewer's text parsed back to a value. */
function asExpected(sample: ShownSample): ExpectedSample {
  let value: unknown = sample.text;
  if (sample.json) {
    try {
      value = JSON.parse(sample.text);
    } catch {
      value = `(not JSON) ${sample.text}`;
    }
  }
  return { mediaType: sample.mediaType, example: sample.example, value };
}

const byMediaTypeAndTitle = (a: ExpectedSample, b: ExpectedSample) =>
  `${a.mediaType}\u0000${a.example ?? ''}`.localeCompare(`${b.mediaType}\u0000${b.example ?? ''}`);

/** The samples shown for the content types the spec gives examples for, in a stable order. */
function comparable(shown: ShownSample[], expected: ExpectedSample[]): ExpectedSample[] {
  const mediaTypes = new Set(expected.map((e) => e.mediaType));
  return shown.filter((s) => mediaTypes.has(s.mediaType)).map(asExpected).sort(byMediaTypeAndTitle);
}

const skipReason = browserSkipReason();
if (skipReason) console.warn(`\n  ${skipReason}\n`);

describe.skipIf(skipReason !== null)(skipReason ?? 'the HTML reference in a real browser', () => {
  let browser: Browser | undefined;
  const references = new Map<ApiName, RenderedReference>();

  beforeAll(async () => {
    browser = await launchChromium();
    const rendered = await Promise.all(apiNames.map((api) => renderReference(browser!, inject('serverUrl'), api)));
    apiNames.forEach((api, i) => references.set(api, rendered[i]!));
  });

  afterAll(async () => {
    await browser?.close();
  });

  describe.each(apiNames)('GET /docs/%s', (api) => {
    // The one walk over the spec; the summary as the reference shows it ('' when there is none).
    const operations = loadOperations([api]).map((o) => ({ ...o, summary: o.summary ?? '' }));
    const reference = () => {
      const rendered = references.get(api);
      if (!rendered) throw new Error(`/docs/${api} was not rendered (see the error of beforeAll)`);
      return rendered;
    };
    const shown = (operationId: string) => reference().operations.get(operationId)!;

    it('loads with no console error, no failed request and no request to any host but the server', () => {
      expect(reference().offences).toEqual({ consoleErrors: [], pageErrors: [], foreignRequests: [], failedRequests: [] });
    });

    it('renders every operation of the bundle, and no other', () => {
      expect([...reference().renderedIds].sort()).toEqual([...operations.map((o) => o.operationId), ...webhookOperationIds(api)].sort());
    });

    it.each(operations)('renders $operationId with its summary, method and path ($method $path)', ({ operationId, summary, method, path }) => {
      const operation = shown(operationId);
      expect(operation.sectionId, `no element with id operation/${operationId} or tag/*/operation/${operationId}`).not.toBeNull();
      expect({ summary: operation.summary, method: operation.method.toLowerCase(), path: operation.path }).toEqual({ summary, method, path });
    });

    const withRequestExamples = operations.filter((o) => requestExamples(o).length > 0);
    it.each(withRequestExamples)('shows the request example of $operationId as the spec has it', (operation) => {
      const { operationId } = operation;
      const expected = requestExamples(operation).sort(byMediaTypeAndTitle);
      expect(comparable(shown(operationId).requestSamples, expected), 'the "Payload" tab of "Request samples"').toEqual(expected);
    });

    it.each(operations)('shows the response examples of $operationId as the spec has them, for every status', (operation) => {
      const { operationId } = operation;
      const expected = responseExamples(operation);
      const statuses = Object.keys(expected);
      // Lint requires an example on every 2xx body, so every success is compared.
      expect(successStatusesWithBody(operation).filter((s) => !statuses.includes(s)), '2xx responses with no example to compare').toEqual([]);
      const samples = shown(operationId).responseSamples;
      expect(Object.keys(samples), 'the tabs of "Response samples"').toEqual(expect.arrayContaining(statuses));
      for (const status of statuses) {
        const want = expected[status]!.sort(byMediaTypeAndTitle);
        expect(comparable(samples[status] ?? [], want), `response ${status}`).toEqual(want);
      }
    });

    // Credentials are writeOnly: a value sent in a request example must never come back. The
    // test is always registered: with no credential to look for, it checks that no request
    // example of this API sends any (admin's), instead of vanishing.
    const secrets = [...new Set(withRequestExamples.flatMap((o) => requestExamples(o).flatMap((e) => credentialValues(e.value))))];
    it(`never shows a credential of a request example in a response sample (${secrets.length} checked)`, () => {
      if (secrets.length === 0) {
        expect(withRequestExamples.filter((o) => requestExamples(o).some((e) => JSON.stringify(e.value).includes('"credentials"'))).map((o) => o.operationId)).toEqual([]);
        return;
      }
      const responseTexts = [...reference().operations.values()].flatMap((o) => Object.values(o.responseSamples).flat().map((s) => s.text));
      expect(responseTexts.length).toBeGreaterThan(0);
      expect(secrets.filter((secret) => responseTexts.some((text) => text.includes(secret)))).toEqual([]);
    });
  });
});
