/** The page of the MSW browser test: a frontend with no mock process. It starts MSW's
 * service worker with @patchbay/mock/msw's handlers (stateful, from the bundles the test
 * serves), then runs the scripted session through the page's own fetch. Bundled by the test
 * with esbuild. */
import { setupWorker } from 'msw/browser';
import { createPatchbayMock } from '@patchbay/mock/msw';
import { runSession, type Send, type Transcript } from '../session.js';

declare global {
  interface Window {
    patchbaySession: (unique: string, apiKey: string) => Promise<Omit<Transcript, 'answers'> & { answers: Transcript['answers'] }>;
    patchbayReady: Promise<void>;
  }
}

async function start(): Promise<void> {
  const { documents, providers } = (await (await fetch('/fixtures.json')).json()) as { documents: Record<string, object>; providers: object[] };
  const mock = createPatchbayMock({ documents, providers, stateful: true });
  await setupWorker(...mock.handlers).start({ serviceWorker: { url: '/mockServiceWorker.js' }, onUnhandledRequest: 'bypass', quiet: true });
}

window.patchbayReady = start();
window.patchbaySession = async (unique, apiKey) => {
  await window.patchbayReady;
  const send: Send = async (method, path, options = {}) => {
    const response = await fetch(path, {
      method,
      headers: { 'X-Api-Key': apiKey, ...options.headers },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text && /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined };
  };
  return runSession(send, unique);
};
