/** The probes: orchestrators call them without a key. */
import { describe, expect, it } from 'vitest';
import { call } from '../support/http.js';
import { specViolations } from '../support/spec-schema.js';

describe('GET /healthz', () => {
  it('answers 200 without a key', async () => {
    const result = await call('/healthz', { apiKey: null });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ status: 'ok' });
    expect(specViolations('getHealth', 200, result.json)).toEqual([]);
  });
});

describe('GET /readyz', () => {
  it('answers 200 without a key when every dependency answers', async () => {
    const result = await call('/readyz', { apiKey: null });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ status: 'ok' });
    expect(specViolations('getReadiness', 200, result.json)).toEqual([]);
  });
});
