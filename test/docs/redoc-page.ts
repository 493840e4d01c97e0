/** Reads what Redoc 2 shows of each operation, the way a reader sees it: the heading, the
 * method and path, and every request and response sample, switching Redoc's tabs and
 * dropdowns (content type, example) one by one. Only the selected tab of Redoc's samples is
 * in the DOM, so each must be clicked; the whole walk runs inside the page, in one call. */
import type { Page } from 'playwright-core';

/** One sample as shown: its content type, the example picked in the "Example" dropdown (null
 * when there is no dropdown: a single example), and the sample's text. */
export interface ShownSample {
  mediaType: string;
  example: string | null;
  /** Shown by Redoc's JSON viewer (the text is then JSON), else as source text. */
  json: boolean;
  text: string;
}

export interface ShownOperation {
  operationId: string;
  /** The id of the element Redoc rendered the operation in; null when it is not on the page. */
  sectionId: string | null;
  summary: string;
  method: string;
  path: string;
  /** The "Payload" tab of "Request samples"; empty when there is none. */
  requestSamples: ShownSample[];
  /** The tabs of "Response samples", by their label (the status code). */
  responseSamples: Record<string, ShownSample[]>;
}

/** The operations Redoc rendered on the page, ids in document order. */
export function renderedOperationIds(page: Page): Promise<string[]> {
  return page.$$eval('[data-section-id^="operation/"]', (sections) => sections.map((s) => s.getAttribute('data-section-id')!.slice('operation/'.length)));
}

/** What the page shows of each operation (which must all be rendered already). */
export async function readOperations(page: Page, operationIds: string[]): Promise<ShownOperation[]> {
  // esbuild with keepNames (tsx does it) wraps named functions in __name(), which the page
  // does not have: a string is sent as it is.
  await page.evaluate('globalThis.__name ??= (fn) => fn');
  // This function runs in the browser: every value it uses is defined inside it (types are erased).
  return page.evaluate(async (ids) => {
    const text = (element: Element | null | undefined) => (element?.textContent ?? '').trim();

    // Redoc re-renders after a click or a change; wait until what was asked for is shown.
    const until = async (done: () => boolean, what: string) => {
      for (let waited = 0; !done(); waited += 10) {
        if (waited > 5_000) throw new Error(`Redoc did not show ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    // Redoc replaces a dropdown's <select> when its value changes: look it up again each time.
    const choose = async (panel: Element, label: string, index: number, what: string) => {
      const select = () => panel.querySelector<HTMLSelectElement>(`select[aria-label="${label}"]`);
      if (select()!.selectedIndex === index) return;
      const value = select()!.options[index]!.value;
      select()!.selectedIndex = index;
      select()!.dispatchEvent(new Event('change', { bubbles: true }));
      await until(() => select()?.value === value, what);
    };

    // One tab panel of samples: every content type, and within it every example.
    const readPanel = async (panel: Element, where: string) => {
      const samples: ShownSample[] = [];
      const mediaSelect = panel.querySelector<HTMLSelectElement>('select[aria-label="Content type"]');
      const label = [...panel.querySelectorAll('span')].find((span) => text(span) === 'Content type');
      const mediaTypes = mediaSelect ? [...mediaSelect.options].map((o) => o.value) : [text(label?.nextElementSibling)];
      for (const [m, mediaType] of mediaTypes.entries()) {
        if (mediaSelect) await choose(panel, 'Content type', m, `${mediaType} in ${where}`);
        const exampleSelect = panel.querySelector<HTMLSelectElement>('select[aria-label="Example"]');
        const examples = exampleSelect ? [...exampleSelect.options].map((o) => text(o)) : [null];
        for (const [e, example] of examples.entries()) {
          if (exampleSelect) await choose(panel, 'Example', e, `example ${example} of ${mediaType} in ${where}`);
          const json = panel.querySelector('.redoc-json code');
          const source = json ?? panel.querySelector('pre') ?? panel;
          samples.push({ mediaType, example, json: json !== null, text: source.textContent ?? '' });
        }
      }
      return samples;
    };

    // The tabs under a "Request samples" or "Response samples" heading, clicked one by one.
    const readTabs = async (section: Element, heading: string, only?: string) => {
      const h3 = [...section.querySelectorAll('h3')].find((h) => text(h) === heading);
      const byTab: Record<string, ShownSample[]> = {};
      if (!h3) return byTab;
      const tabs = [...h3.nextElementSibling!.querySelectorAll<HTMLElement>('[role="tab"]')];
      for (const tab of tabs) {
        const name = text(tab);
        if (only !== undefined && name !== only) continue;
        tab.click();
        const panel = () => document.getElementById(tab.getAttribute('aria-controls')!);
        await until(() => tab.getAttribute('aria-selected') === 'true' && (panel()?.childElementCount ?? 0) > 0, `the ${name} tab of ${heading}`);
        byTab[name] = await readPanel(panel()!, `${heading} › ${name}`);
      }
      return byTab;
    };

    const shown: ShownOperation[] = [];
    for (const operationId of ids) {
      const section = document.getElementById(`operation/${operationId}`) ?? document.querySelector(`[id$="/operation/${CSS.escape(operationId)}"]`);
      if (!section) {
        shown.push({ operationId, sectionId: null, summary: '', method: '', path: '', requestSamples: [], responseSamples: {} });
        continue;
      }
      const verb = section.querySelector('.http-verb');
      shown.push({
        operationId,
        sectionId: section.id,
        summary: text(section.querySelector('h2')),
        method: text(verb),
        path: text(verb?.nextElementSibling),
        requestSamples: (await readTabs(section, 'Request samples', 'Payload'))['Payload'] ?? [],
        responseSamples: await readTabs(section, 'Response samples'),
      });
    }
    return shown;
  }, operationIds);
}
