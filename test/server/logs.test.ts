/** Request logs (apps/server/src/platform/logger.ts, http/request-id.ts): one line per request with
 * its id, and never a secret, however the request ended. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.js';
import { LISTENING, spawnServer, type ServerRun } from '../support/processes.js';

const ADMIN_KEY = 'pb_test_logs_admin_key_0123456789abcdef';
const WRONG_KEY = 'pb_test_logs_wrong_key_0123456789abcdef';

describe('request logs', () => {
  let run: ServerRun;
  let baseUrl: string;
  beforeAll(async () => {
    // The most verbose level: whatever any code logs at all shows up here.
    run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'trace' });
    [, baseUrl = ''] = await run.waitForOutput(LISTENING);
  });
  afterAll(async () => {
    await run?.stop();
  });

  it('never contain the API key, whatever the request and its outcome', async () => {
    const requests: [string, Parameters<typeof call>[1]][] = [
      ['/v1/providers', {}],
      ['/v1/providers/stripe', {}],
      ['/v1/providers/acme-pay', {}],
      ['/v1/providers?limit=500', {}],
      ['/v1/nope', {}],
      ['/v1/providers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"api_key": "${ADMIN_KEY}"` }],
      ['/v1/providers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ api_key: ADMIN_KEY }) }],
      ['/v1/providers', { apiKey: WRONG_KEY }],
      ['/v1/providers', { headers: { Authorization: `Bearer ${ADMIN_KEY}` } }],
    ];
    const ids: string[] = [];
    for (const [path, options] of requests) {
      const result = await call(path, { ...options, apiKey: options?.apiKey ?? ADMIN_KEY, baseUrl });
      ids.push(result.headers.get('x-request-id')!);
    }
    await run.stop(); // every line is flushed once the process has exited

    const output = run.output();
    // The requests were logged (so the check below looked at something), each under its id.
    for (const id of ids) expect(output).toContain(`"request_id":"${id}"`);
    expect(output).not.toContain(ADMIN_KEY);
    expect(output).not.toContain(WRONG_KEY);
  });
});
