/** The examples the mock serves and the docs show (specs/dist after the specs build): each
 * one valid against its schema, true to what the server sends, free of secrets, and all of
 * them one world: the same tenant, keys and connections everywhere. The second half breaks
 * copies on purpose and expects each check to name what broke and where. */
import { describe, expect, it } from 'vitest';
import { buildSpecs, copyWorkspace, runCommand } from '../support/workspace-copy.js';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { redoclyBin, specsDir } from '../support/paths.js';
import {
  castViolations,
  collectExamples,
  coverageViolations,
  crossOperationViolations,
  loadBundles,
  loadCatalog,
  loadProblemTable,
  loadSecretNameTest,
  problemViolations,
  SchemaChecker,
  secretViolations,
  summaryViolations,
  type Bundle,
  type Catalog,
} from './examples.js';

const problems = loadProblemTable();
const isSecretName = await loadSecretNameTest();

/** Every check over a set of bundles, as one list of violations. */
function allViolations(bundles: Bundle[], catalog: Catalog): string[] {
  const sites = bundles.flatMap(collectExamples);
  const schemas = new SchemaChecker(bundles);
  return [
    ...sites.flatMap((site) => schemas.check(site)),
    ...problemViolations(sites, problems),
    ...coverageViolations(bundles, sites),
    ...summaryViolations(bundles),
    ...secretViolations(sites, isSecretName),
    ...castViolations(sites, catalog),
    ...crossOperationViolations(sites, catalog),
  ];
}

const bundles = loadBundles();
const catalog = loadCatalog();
const sites = bundles.flatMap(collectExamples);

describe('the examples of the bundled specs', () => {
  it('are all found: media types, parameters, headers and schemas of both APIs', () => {
    expect(bundles.map((b) => b.name).sort()).toEqual(['admin', 'connections']);
    const count = (kind: string) => sites.filter((s) => s.kind === kind).length;
    expect(count('request')).toBeGreaterThan(12);
    expect(count('response')).toBeGreaterThan(150);
    expect(count('parameter')).toBeGreaterThan(20);
    expect(count('header')).toBeGreaterThan(10);
    expect(count('schema')).toBeGreaterThan(50);
  });

  it('each validate against their schema, with no readOnly member in a request and no writeOnly one in a response', () => {
    const schemas = new SchemaChecker(bundles);
    expect(sites.flatMap((site) => schemas.check(site))).toEqual([]);
  });

  it('show problems exactly as the server sends them (type, title, code, detail wording, pointers)', () => {
    expect(problemViolations(sites, problems)).toEqual([]);
  });

  it('cover every documented response and request body', () => {
    expect(coverageViolations(bundles, sites)).toEqual([]);
  });

  it('have a summary when they are named, for `Prefer: example=` and the docs', () => {
    expect(summaryViolations(bundles)).toEqual([]);
  });

  it('carry no secret: placeholders in requests, nothing secret in responses', () => {
    expect(secretViolations(sites, isSecretName)).toEqual([]);
  });

  it('describe one small cast, each connection in one consistent history', () => {
    expect(castViolations(sites, catalog)).toEqual([]);
  });

  it('line up across operations: get and default-connection are in the list, providers are the catalog', () => {
    expect(crossOperationViolations(sites, catalog)).toEqual([]);
  });

  it('let the mock be steered: createConnection and getConnection offer one example per cast provider', () => {
    const names = (operationId: string, kind: string, status?: string) =>
      sites.filter((s) => s.operationId === operationId && s.kind === kind && s.status === status && s.mediaType === 'application/json').map((s) => s.name);
    expect(names('createConnection', 'request')).toEqual(['stripe', 'payven_vpos', 'pos_connect', 'quickbooks_pending_auth']);
    expect(names('createConnection', 'response', '201')).toEqual(['stripe', 'payven_vpos', 'pos_connect', 'quickbooks_pending_auth']);
    expect(names('getConnection', 'response', '200')).toEqual(['stripe', 'payven_vpos', 'pos_connect_error', 'quickbooks_pending_auth']);
    expect(names('listConnections', 'response', '200')).toContain('empty');
  });
});

/** A deep copy of the workspace's bundles, changed by `edit`, and every violation found in it. */
function violationsAfter(edit: (documents: Record<string, any>, catalog: Catalog) => void): string[] {
  const copy = structuredClone(bundles);
  const catalogCopy = structuredClone(catalog);
  edit(Object.fromEntries(copy.map((b) => [b.name, b.document])), catalogCopy);
  return allViolations(copy, catalogCopy);
}

const connections = (documents: Record<string, any>) => documents.connections;
const example = (document: any, name: string) => document.components.examples[name].value;

describe.concurrent('the example checks, on broken copies of the bundles', () => {
  it('pass on the bundles as they are', ({ expect }) => {
    expect(allViolations(bundles, catalog)).toEqual([]);
  });

  it('name the example and the member when a response example breaks its schema', ({ expect }) => {
    const found = violationsAfter((d) => (example(connections(d), 'ConnectionStripe').version = 'four'));
    expect(found).toContainEqual(expect.stringMatching(/GET \/v1\/connections\/\{connectionId\} 200 application\/json examples\.stripe \(#\/components\/examples\/ConnectionStripe\): \/version must be integer/));
  });

  it('refuse a readOnly member in a request example', ({ expect }) => {
    const found = violationsAfter((d) => {
      const post = connections(d).paths['/v1/connections'].post;
      post.requestBody.content['application/json'].schema = { $ref: '#/components/schemas/Connection' };
      post.requestBody.content['application/json'].examples = { stripe: { summary: 'a whole connection', value: example(connections(d), 'ConnectionStripe') } };
    });
    expect(found).toContainEqual(expect.stringMatching(/POST \/v1\/connections requestBody application\/json examples\.stripe: \/id is readOnly: a request example must not send it/));
    expect(found).toContainEqual(expect.stringMatching(/\/created_at is readOnly/));
  });

  it('refuse a writeOnly member in a response example', ({ expect }) => {
    const found = violationsAfter((d) => {
      connections(d).components.schemas.Connection.properties.credentials = { $ref: '#/components/schemas/Credentials' };
      example(connections(d), 'ConnectionStripe').credentials = { secret_key: 'sk_live_EXAMPLEnotARealKey4xQz' };
    });
    expect(found).toContainEqual(expect.stringMatching(/examples\.stripe \(#\/components\/examples\/ConnectionStripe\): \/credentials is writeOnly: a response example must not carry it/));
    expect(found).toContainEqual(expect.stringMatching(/\/credentials: a response never carries credentials/));
    expect(found).toContainEqual(expect.stringMatching(/repeats a credential sent in a request example/));
  });

  it('check parameter and header examples', ({ expect }) => {
    const found = violationsAfter((d) => {
      connections(d).components.parameters.Limit.example = 500;
      connections(d).components.headers.ETag.example = 4;
    });
    expect(found).toContainEqual(expect.stringMatching(/GET \/v1\/connections parameter query:limit example: \/ must be <= 200/));
    expect(found).toContainEqual(expect.stringMatching(/GET \/v1\/connections\/\{connectionId\} 200 header ETag example: \/ must be string/));
  });

  it('check the examples of component schemas', ({ expect }) => {
    const found = violationsAfter((d) => (connections(d).components.schemas.Priority.example = 5000));
    expect(found).toContainEqual('connections schema Priority example: / must be <= 1000');
  });

  it('hold problem examples to what the server sends', ({ expect }) => {
    const found = violationsAfter((d) => {
      const notFound = connections(d).components.responses.ConnectionNotFound.content['application/problem+json'].examples.connection_not_found.value;
      notFound.title = 'Not found';
      const forbidden = connections(d).components.responses.ForbiddenConnectionsRead.content['application/problem+json'].examples.missing_scope.value;
      forbidden.status = 401;
      const bad = connections(d).paths['/v1/connections'].get.responses['400'].content['application/problem+json'].examples.validation_failed.value;
      bad.detail = '2 fields are invalid';
      bad.errors[0].pointer = '/header/X-Tenant-Id';
      connections(d).components.responses.InternalError.content['application/problem+json'].examples.internal_error.value.request_id = 'req_01JD5Q8J6M2Z6V1X9R7KQ3T4BC';
      connections(d).components.responses.Unauthorized.content['application/problem+json'].example.instance = '/v1/connections';
    });
    expect(found).toContainEqual(expect.stringMatching(/404 application\/problem\+json examples\.connection_not_found \(#\/components\/responses\/ConnectionNotFound[^)]*\): the server titles not_found 'The resource was not found', not 'Not found'/));
    expect(found).toContainEqual(expect.stringMatching(/403 application\/problem\+json examples\.missing_scope \(#\/components\/responses\/ForbiddenConnectionsRead[^)]*\): status 401 is documented under 403/));
    expect(found).toContainEqual(expect.stringMatching(/GET \/v1\/connections 400 application\/problem\+json examples\.validation_failed: detail says 2 but errors lists 3/));
    expect(found).toContainEqual(expect.stringMatching(/header pointer '\/header\/X-Tenant-Id' must be lowercase/));
    expect(found).toContainEqual(expect.stringMatching(/500 application\/problem\+json examples\.internal_error[^:]*: request_id 'req_01JD5Q8J6M2Z6V1X9R7KQ3T4BC' is not one the server makes/));
    expect(found).toContainEqual(expect.stringMatching(/GET \/v1\/providers 401 application\/problem\+json example: instance '\/v1\/connections' is not a path of \/v1\/providers/));
  });

  it('require an example for every documented response', ({ expect }) => {
    const found = violationsAfter((d) => {
      const archive = connections(d).paths['/v1/connections/{connectionId}'].delete;
      archive.responses['412'] = { description: 'stale', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    });
    expect(found).toContain('connections DELETE /v1/connections/{connectionId} 412 application/problem+json: has no example');
  });

  it('require a summary on a named example', ({ expect }) => {
    const found = violationsAfter((d) => delete connections(d).components.examples.ConnectionListEmpty.summary);
    expect(found).toContainEqual(expect.stringMatching(/examples\/empty: a named example needs a summary/));
  });

  it('refuse a credential that looks real, and a secret in a response', ({ expect }) => {
    const found = violationsAfter((d) => {
      example(connections(d), 'ConnectionCreateStripe').credentials.secret_key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
      example(connections(d), 'ConnectionStripe').description = 'uses whsec_Abcdefgh12345678';
    });
    expect(found).toContainEqual(expect.stringMatching(/POST \/v1\/connections requestBody application\/json examples\.stripe \(#\/components\/examples\/ConnectionCreateStripe\): \/credentials\/secret_key must be an obvious placeholder/));
    expect(found).toContainEqual(expect.stringMatching(/\/description looks like a real secret/));
  });

  it('find a connection that left the list, and an id that is not one of the cast', ({ expect }) => {
    const found = violationsAfter((d) => {
      const all = example(connections(d), 'ConnectionListAll');
      all.data = all.data.filter((c: { provider: string }) => c.provider !== 'stripe');
      example(connections(d), 'ConnectionEventsStripe').data[0].connection_id = 'conn_01jd5qzzzzzzzzzzzzzzzzzzzz';
    });
    expect(found).toContain(`getConnection 200 examples.stripe is not, verbatim, in connections GET /v1/connections 200 application/json examples.all (#/components/examples/ConnectionListAll)`);
    expect(found).toContainEqual(expect.stringMatching(/examples\.stripe \(#\/components\/examples\/ConnectionEventsStripe\): \/data\/0\/connection_id: conn_01jd5qzzzzzzzzzzzzzzzzzzzz is not one of the cast/));
  });

  it('find two different states under one version, and a list that changed one connection', ({ expect }) => {
    const found = violationsAfter((d) => (example(connections(d), 'ConnectionListAll').data[3].priority = 30));
    expect(found).toContainEqual(expect.stringMatching(/connection conn_01jd5qaz8x3k7m2n4p6r8t0vwy at version 4 differs from the same version/));
  });

  it('find a response that does not answer its request, and a credentials summary that does not match', ({ expect }) => {
    const found = violationsAfter((d) => {
      example(connections(d), 'ConnectionCreatePayvenVpos').priority = 40;
      example(connections(d), 'ConnectionCreateStripe').credentials.secret_key = 'sk_live_EXAMPLEnotARealKey9999';
    });
    expect(found).toContainEqual(expect.stringMatching(/201 application\/json examples\.payven_vpos .*: does not answer .*examples\.payven_vpos .*: \/priority is 40 in the request but 50 in the response/));
    expect(found).toContainEqual(expect.stringMatching(/examples\.stripe .*credentials_summary\.secret_key\.last4 is "4xQz" but should be "9999"/));
  });

  it('find a last4 on a field the catalog does not mark x-patchbay-hint: last4, in a summary and in a response to a request', ({ expect }) => {
    const found = violationsAfter((d) => {
      example(connections(d), 'ConnectionQuickbooksPendingAuth').credentials_summary.client_secret.last4 = '3Fw8';
    });
    expect(found).toContainEqual(expect.stringMatching(/credentials_summary\.client_secret\.last4 is "3Fw8", but specs\/providers\/quickbooks\.yaml does not mark client_secret x-patchbay-hint: last4/));
    expect(found).toContainEqual(expect.stringMatching(/examples\.quickbooks_pending_auth .*credentials_summary\.client_secret\.last4 is "3Fw8" but should be null/));
  });

  it('hold connections and providers to the catalog', ({ expect }) => {
    const found = violationsAfter((_d, catalogCopy) => {
      const quickbooks = catalogCopy.providers.find((p) => p.slug === 'quickbooks');
      quickbooks.credentials_schema.required = ['client_secret'];
      quickbooks.description = 'Accounting.';
    });
    expect(found).toContainEqual(expect.stringMatching(/connection conn_01jd5qbm2p4r6t8w0y2a4c6e8g is pending_auth with every required credential; it would be active/));
    expect(found).toContainEqual(expect.stringMatching(/examples\.quickbooks .*: provider 'quickbooks' is not what specs\/providers\/quickbooks\.yaml says/));
  });

  // The same check from the YAML: the copy is bundled without the lint (whose example rules
  // would stop the build first), so this test stands on its own.
  it('catch an example broken in the YAML, with the lint out of the way', async ({ expect }) => {
    const copy = await copyWorkspace();
    try {
      await copy.editYaml('specs/components/examples/ConnectionPayvenVpos.yaml', (file) => {
        file.value.environment = 'staging';
        file.value.credentials = { password: 'EXAMPLE-not-a-real-password' };
      });
      const built = await buildSpecs(copy);
      expect(built.code, built.output).not.toBe(0); // the lint refuses it too
      const bundled = await runCommand(redoclyBin, ['bundle'], { cwd: copy.root, env: { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
      expect(bundled.code, bundled.output).toBe(0);
      // redocly bundle writes the bundles only; the list of APIs and the catalog are the workspace's.
      for (const file of ['apis.json', 'providers.json']) await cp(join(specsDir, 'dist', file), copy.path(`specs/dist/${file}`));
      const broken = loadBundles(copy.path('specs/dist'));
      const found = allViolations(broken, loadCatalog(copy.path('specs/dist')));
      expect(found).toContainEqual(expect.stringMatching(/examples\.payven_vpos \(#\/components\/examples\/ConnectionPayvenVpos\): \/environment must be equal to one of the allowed values/));
      expect(found).toContainEqual(expect.stringMatching(/examples\.payven_vpos \(#\/components\/examples\/ConnectionPayvenVpos\): \/ must NOT have additional properties \(credentials\)/));
      expect(found).toContainEqual(expect.stringMatching(/examples\.payven_vpos \(#\/components\/examples\/ConnectionPayvenVpos\): \/credentials: a response never carries credentials/));
    } finally {
      await copy.remove();
    }
  });
});
