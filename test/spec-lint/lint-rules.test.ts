/** Our own lint rules (redocly.yaml `rule/...`, specs/lint/patchbay-plugin.js), each broken
 * on purpose by a small edit to a temporary copy of the specs. A rule that stops firing, or
 * that fires on the specs as they are, fails here. Each test lints its own copy, so they run
 * concurrently. */
import { describe, it, type ExpectStatic } from 'vitest';
import { copyWorkspace, lint, type LintResult } from '../support/workspace-copy.js';

const HEALTHZ = 'specs/connections/paths/healthz.yaml';
const READYZ = 'specs/connections/paths/readyz.yaml';
const LIST_PROVIDERS = 'specs/connections/paths/v1_providers.yaml';
const GET_PROVIDER = 'specs/connections/paths/v1_providers_{slug}.yaml';
const CONNECTIONS_ROOT = 'specs/connections/openapi.yaml';
const HEALTH_SCHEMA = 'specs/components/schemas/Health.yaml';

/** Lints a fresh copy of the specs after each edit (a YAML file of the copy and a change to it). */
async function lintAfter(...edits: [file: string, edit: (data: any) => void][]): Promise<LintResult> {
  const copy = await copyWorkspace();
  try {
    for (const [file, edit] of edits) await copy.editYaml(file, edit);
    return await lint(copy);
  } finally {
    await copy.remove();
  }
}

function expectFailureOf(expect: ExpectStatic, result: LintResult, rule: string): void {
  expect(result.code, result.output).not.toBe(0);
  expect(result.failedRules, result.output).toContain(rule);
  expect(result.output).toContain(rule);
}

function expectPass(expect: ExpectStatic, result: LintResult): void {
  expect(result.failedRules, result.output).toEqual([]);
  expect(result.code, result.output).toBe(0);
}

describe.concurrent('redocly lint', () => {
  it('passes on the specs as they are', async ({ expect }) => {
    expectPass(expect, await lintAfter());
  });

  describe('rule/operation-id-camel-case', () => {
    it.for(['list_providers', 'ListProviders', 'list-providers'])('fails when an operationId is %s', async (operationId, { expect }) => {
      const result = await lintAfter([LIST_PROVIDERS, (path) => (path.get.operationId = operationId)]);
      expectFailureOf(expect, result, 'rule/operation-id-camel-case');
    });
  });

  describe('rule/operation-has-tag', () => {
    it('fails when an operation has no tags', async ({ expect }) => {
      const result = await lintAfter([LIST_PROVIDERS, (path) => delete path.get.tags]);
      expectFailureOf(expect, result, 'rule/operation-has-tag');
    });

    it('fails when an operation has an empty list of tags', async ({ expect }) => {
      const result = await lintAfter([LIST_PROVIDERS, (path) => (path.get.tags = [])]);
      expectFailureOf(expect, result, 'rule/operation-has-tag');
    });
  });

  describe('rule/operation-has-summary', () => {
    it('fails when an operation has no summary', async ({ expect }) => {
      const result = await lintAfter([GET_PROVIDER, (path) => delete path.get.summary]);
      expectFailureOf(expect, result, 'rule/operation-has-summary');
    });

    it('fails when the summary is shorter than 3 characters', async ({ expect }) => {
      const result = await lintAfter([GET_PROVIDER, (path) => (path.get.summary = 'Go')]);
      expectFailureOf(expect, result, 'rule/operation-has-summary');
    });
  });

  describe('patchbay/operation-security-or-opt-out', () => {
    it('fails when an operation sets `security: []` without x-patchbay-public', async ({ expect }) => {
      const result = await lintAfter([HEALTHZ, (path) => delete path.get['x-patchbay-public']]);
      expectFailureOf(expect, result, 'patchbay/operation-security-or-opt-out');
    });

    it('fails when x-patchbay-public gives no reason', async ({ expect }) => {
      const result = await lintAfter([HEALTHZ, (path) => (path.get['x-patchbay-public'] = '')]);
      expectFailureOf(expect, result, 'patchbay/operation-security-or-opt-out');
    });

    it('passes when an operation opts out with `security: []` and says why in x-patchbay-public', async ({ expect }) => {
      const result = await lintAfter([
        LIST_PROVIDERS,
        (path) => {
          path.get.security = [];
          path.get['x-patchbay-public'] = 'the catalog is public information';
        },
      ]);
      expectPass(expect, result);
    });

    it('passes without document-level security, since every operation names its own', async ({ expect }) => {
      const result = await lintAfter([CONNECTIONS_ROOT, (root) => delete root.security]);
      expectPass(expect, result);
    });
  });

  describe('patchbay/operation-security-or-opt-out: scopes in the security requirements', () => {
    it('fails when a secured operation names no scope (denied by default)', async ({ expect }) => {
      const result = await lintAfter([GET_PROVIDER, (path) => (path.get.security = [{ ApiKeyAuth: [] }, { BasicAuth: [] }])]);
      expectFailureOf(expect, result, 'patchbay/operation-security-or-opt-out');
    });

    it('fails when an operation declares no security of its own', async ({ expect }) => {
      const result = await lintAfter([GET_PROVIDER, (path) => delete path.get.security]);
      expectFailureOf(expect, result, 'patchbay/operation-security-or-opt-out');
    });

    it('fails when X-Api-Key and Basic name different scopes', async ({ expect }) => {
      const result = await lintAfter([GET_PROVIDER, (path) => (path.get.security = [{ ApiKeyAuth: ['connections:read'] }, { BasicAuth: ['connections:write'] }])]);
      expectFailureOf(expect, result, 'patchbay/operation-security-or-opt-out');
    });

    it('fails when the retired x-patchbay-scopes is used', async ({ expect }) => {
      const result = await lintAfter([GET_PROVIDER, (path) => (path.get['x-patchbay-scopes'] = ['connections:read'])]);
      expectFailureOf(expect, result, 'patchbay/operation-security-or-opt-out');
    });
  });

  describe('patchbay/operation-problem-response', () => {
    const errorStatuses = (responses: Record<string, unknown>) => Object.keys(responses).filter((status) => /^[45]/.test(status));

    it('fails when every error response of an operation is removed', async ({ expect }) => {
      const result = await lintAfter([HEALTHZ, (path) => errorStatuses(path.get.responses).forEach((status) => delete path.get.responses[status])]);
      expectFailureOf(expect, result, 'patchbay/operation-problem-response');
    });

    it('fails when every error response is application/json instead of application/problem+json', async ({ expect }) => {
      const result = await lintAfter([
        READYZ,
        (path) => {
          for (const status of errorStatuses(path.get.responses)) {
            // 500 is a $ref to a shared response: replace it with an inline one.
            const content = path.get.responses[status].content ?? { 'application/problem+json': { schema: { $ref: '../../components/schemas/Problem.yaml' } } };
            content['application/json'] = content['application/problem+json'];
            delete content['application/problem+json'];
            path.get.responses[status] = { description: 'an error', content };
          }
        },
      ]);
      expectFailureOf(expect, result, 'patchbay/operation-problem-response');
    });
  });

  describe('patchbay/operation-error-responses', () => {
    const CONNECTION = 'specs/connections/paths/v1_connections_{connectionId}.yaml';
    const SYNC_RUNS = 'specs/connections/paths/v1_connections_{connectionId}_sync-runs.yaml';
    const API_KEY = 'specs/admin/paths/admin_v1_tenants_{tenantId}_api-keys_{keyId}.yaml';

    it.for([
      ['401', 'a secured operation', LIST_PROVIDERS, 'get'],
      ['429', 'a secured operation', LIST_PROVIDERS, 'get'],
      ['429', 'a secured admin operation', API_KEY, 'delete'],
      ['403', 'an operation that needs a scope', GET_PROVIDER, 'get'],
      ['400', 'an operation with only path parameters', API_KEY, 'delete'],
      ['400', 'an operation with a body', SYNC_RUNS, 'post'],
      ['413', 'an operation with a body', CONNECTION, 'patch'],
      ['415', 'an operation with a body', CONNECTION, 'put'],
      ['412', 'an operation that takes If-Match', CONNECTION, 'delete'],
      ['409', 'an operation that takes Idempotency-Key', SYNC_RUNS, 'post'],
      ['422', 'an operation that takes Idempotency-Key', SYNC_RUNS, 'post'],
    ] as const)('fails when %s is missing from %s', async ([status, , file, method], { expect }) => {
      const result = await lintAfter([file, (path) => delete path[method].responses[status]]);
      expectFailureOf(expect, result, 'patchbay/operation-error-responses');
      expect(result.output).toContain(`must document a ${status} response as application/problem+json`);
    });

    it('fails when the 401 of a secured operation is not application/problem+json', async ({ expect }) => {
      const result = await lintAfter([
        GET_PROVIDER,
        (path) => (path.get.responses['401'] = { description: 'no key', content: { 'text/plain': { schema: { type: 'string' }, example: 'no key' } } }),
      ]);
      expectFailureOf(expect, result, 'patchbay/operation-error-responses');
    });

    it('passes when a public operation documents no 401', async ({ expect }) => {
      const result = await lintAfter([
        LIST_PROVIDERS,
        (path) => {
          path.get.security = [];
          path.get['x-patchbay-public'] = 'the catalog is public information';
          delete path.get.responses['401'];
        },
      ]);
      expectPass(expect, result);
    });

    it('passes when a public operation documents no 403', async ({ expect }) => {
      const result = await lintAfter([
        GET_PROVIDER,
        (path) => {
          path.get.security = [];
          path.get['x-patchbay-public'] = 'the catalog is public information';
          delete path.get.responses['401'];
          delete path.get.responses['403'];
        },
      ]);
      expectPass(expect, result);
    });
  });

  describe('patchbay/operation-examples', () => {
    it('fails when a 2xx response has no example', async ({ expect }) => {
      const result = await lintAfter([HEALTHZ, (path) => delete path.get.responses['200'].content['application/json'].example]);
      expectFailureOf(expect, result, 'patchbay/operation-examples');
    });

    it('fails when a 2xx response has an empty map of examples', async ({ expect }) => {
      const result = await lintAfter([GET_PROVIDER, (path) => (path.get.responses['200'].content['application/json'].examples = {})]);
      expectFailureOf(expect, result, 'patchbay/operation-examples');
    });
  });

  describe('patchbay/secret-property-write-only', () => {
    // Health is the schema of GET /healthz: a property added to it is in an operation's response.
    const addToHealth = (name: string, property: Record<string, unknown>) =>
      lintAfter([HEALTH_SCHEMA, (schema) => (schema.properties[name] = property)]);

    it.for(['webhook_secret', 'webhookSecret', 'api_key', 'password'])('fails when a property named %s is not writeOnly', async (name, { expect }) => {
      expectFailureOf(expect, await addToHealth(name, { type: 'string' }), 'patchbay/secret-property-write-only');
    });

    it('passes when the secret property is writeOnly', async ({ expect }) => {
      expectPass(expect, await addToHealth('webhook_secret', { type: 'string', writeOnly: true }));
    });

    it('passes when a secret shown once, on creation, says so with x-patchbay-reveal: once', async ({ expect }) => {
      expectPass(expect, await addToHealth('token', { type: 'string', readOnly: true, 'x-patchbay-reveal': 'once' }));
    });

    it.for(['token_expires_at', 'credentials_summary', 'publishable_key'])('passes when %s only contains a secret-sounding word', async (name, { expect }) => {
      expectPass(expect, await addToHealth(name, { type: 'string' }));
    });
  });
});
