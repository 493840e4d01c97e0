/** The one walk over the spec (`@patchbay/api-types/operations`), which the server's dispatcher,
 * the mock, parity, docs and contract suites and the example checks all read: it finds every
 * operation of the bundles, reads each the way the spec writes it, and refuses a `$ref` it
 * cannot follow, naming it. */
import { describe, expect, it } from 'vitest';
import { apiNames, loadDocument, loadOperations } from '@patchbay/api-types/documents';
import { follow, operationsOf, pathPattern, RefError, resolve, scopesOf, type SpecDocument } from '@patchbay/api-types/operations';

const operations = loadOperations();
const byId = (id: string) => {
  const operation = operations.find((o) => o.operationId === id);
  if (!operation) throw new Error(`no operation ${id} in the bundles`);
  return operation;
};

/** The fields of a Path Item Object that are not operations (OpenAPI 3.1 §4.8.9). */
const PATH_ITEM_FIELDS = new Set(['$ref', 'summary', 'description', 'servers', 'parameters']);

/** What `fn` throws (a RefError is expected), or fails saying it did not throw. */
function thrown(fn: () => unknown): RefError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RefError);
    return error as RefError;
  }
  throw new Error('expected a RefError, nothing was thrown');
}

describe('operationsOf', () => {
  it('finds one operation per method entry in the paths of every bundle, each operationId once', () => {
    const methodEntries = apiNames.flatMap((api) =>
      Object.values(loadDocument(api).paths).flatMap((item) => Object.keys(item).filter((key) => !PATH_ITEM_FIELDS.has(key) && !key.startsWith('x-'))),
    );
    expect(methodEntries.length).toBeGreaterThan(0);
    expect(operations).toHaveLength(methodEntries.length);
    expect(new Set(operations.map((o) => o.operationId)).size).toBe(operations.length);
    for (const api of apiNames) expect(operations.filter((o) => o.api === api).length, api).toBeGreaterThan(0);
  });

  it('reads createConnection: its headers, scope, security, body and statuses', () => {
    const operation = byId('createConnection');
    expect(operation).toMatchObject({ api: 'connections', method: 'post', path: '/v1/connections', pointer: '#/paths/~1v1~1connections/post' });
    expect(operation.security.length).toBeGreaterThan(0);
    expect(operation.security.some((requirement) => 'ApiKeyAuth' in requirement)).toBe(true);
    expect(operation.secured).toBe(true);
    expect(operation.publicReason).toBeUndefined();
    expect(operation.scopes).toEqual(['connections:write']);
    expect(operation.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'header', name: 'Idempotency-Key', required: false, pointer: '#/components/parameters/IdempotencyKey', schema: expect.objectContaining({ type: 'string', maxLength: 255 }) }),
        expect.objectContaining({ in: 'header', name: 'X-Tenant-Id', required: false, schema: expect.objectContaining({ pattern: '^ten_[0-9a-z]{26}$' }) }),
      ]),
    );
    expect(operation.requestBody?.required).toBe(true);
    expect(Object.keys(operation.requestBody!.content)).toEqual(['application/json']);
    const body = operation.requestBody!.content['application/json']!;
    expect(body.schemaRef).toBe('#/components/schemas/ConnectionCreate');
    // The schema comes resolved: the component itself, not its $ref.
    expect(body.schema).toEqual(loadDocument('connections').components!.schemas!.ConnectionCreate);
    expect(body.schema?.$ref).toBeUndefined();
    expect(body.schema?.required).toEqual(expect.arrayContaining(['provider']));
    expect(body.examples.map((e) => e.name)).toContain('stripe');
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409', '413', '415', '422']));
    const created = operation.responses['201']!;
    expect(created.content['application/json']?.schemaRef).toBe('#/components/schemas/Connection');
    expect(Object.keys(created.headers)).toEqual(expect.arrayContaining(['Location', 'ETag']));
    // A response given as a $ref is read where it lives.
    expect(operation.responses['401']!.pointer).toBe('#/components/responses/Unauthorized');
    expect(Object.keys(operation.responses['401']!.content)).toEqual(['application/problem+json']);
  });

  it('reads updateConnection: the path-level connectionId, If-Match, and both PATCH media types with one schema', () => {
    const operation = byId('updateConnection');
    expect(operation).toMatchObject({ method: 'patch', path: '/v1/connections/{connectionId}', scopes: ['connections:write'], secured: true });
    expect(operation.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'path', name: 'connectionId', required: true, schema: expect.objectContaining({ pattern: '^conn_[0-9a-z]{26}$' }) }),
        expect.objectContaining({ in: 'header', name: 'If-Match', required: false }),
      ]),
    );
    const content = operation.requestBody!.content;
    expect(Object.keys(content).sort()).toEqual(['application/json', 'application/merge-patch+json']);
    expect(content['application/merge-patch+json']!.schemaRef).toBe('#/components/schemas/ConnectionPatch');
    expect(content['application/json']!.schemaRef).toBe('#/components/schemas/ConnectionPatch');
    expect(content['application/merge-patch+json']!.schemaPointer).toBe('#/paths/~1v1~1connections~1{connectionId}/patch/requestBody/content/application~1merge-patch+json/schema');
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '412', '415']));
  });

  it('reads getHealth as public: no security, no scope, and the reason it needs no key', () => {
    const operation = byId('getHealth');
    expect(operation).toMatchObject({ method: 'get', path: '/healthz', security: [], secured: false, scopes: [] });
    expect(operation.publicReason).toEqual(expect.any(String));
    expect(operation.publicReason!.length).toBeGreaterThan(0);
    expect(operations.filter((o) => !o.secured).every((o) => o.publicReason !== undefined)).toBe(true);
  });

  it('lets an operation parameter replace a path-level one of the same name and location', () => {
    const document: SpecDocument = {
      paths: {
        '/things/{id}': {
          parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'string' } }],
          get: { operationId: 'getThing', parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'integer' } }], responses: {} },
        },
      },
    };
    const [operation] = operationsOf(document, 'test');
    expect(operation!.parameters).toHaveLength(1);
    expect(operation!.parameters[0]!.schema).toEqual({ type: 'integer' });
    expect(operation!.parameters[0]!.pointer).toBe('#/paths/~1things~1{id}/get/parameters/0');
  });

  it('throws, naming the $ref, when an operation of a bundle points at nothing', () => {
    const document = loadDocument('connections');
    document.paths['/v1/connections']!.post = {
      ...(document.paths['/v1/connections']!.post as object),
      requestBody: { $ref: '#/components/requestBodies/NoSuchBody' },
    };
    const error = thrown(() => operationsOf(document, 'connections'));
    expect(error.ref).toBe('#/components/requestBodies/NoSuchBody');
    expect(error.message).toContain("'#/components/requestBodies/NoSuchBody'");
    expect(error.message).toContain('points at nothing');
  });

  it('throws, naming the $ref, when parameters refer to each other in a loop', () => {
    const document = loadDocument('connections');
    const parameters = document.components!.parameters as Record<string, unknown>;
    parameters.LoopA = { $ref: '#/components/parameters/LoopB' };
    parameters.LoopB = { $ref: '#/components/parameters/LoopA' };
    const get = document.paths['/v1/connections']!.get as { parameters: unknown[] };
    get.parameters = [...get.parameters, { $ref: '#/components/parameters/LoopA' }];
    const error = thrown(() => operationsOf(document, 'connections'));
    expect(error.ref).toBe('#/components/parameters/LoopA');
    expect(error.message).toContain('loops');
    expect(error.message).toContain('#/components/parameters/LoopA -> #/components/parameters/LoopB -> #/components/parameters/LoopA');
  });
});

describe('the $ref resolver', () => {
  const document = {
    components: {
      schemas: { Id: { type: 'string' }, Alias: { $ref: '#/components/schemas/Id' }, 'a/b': { type: 'integer' }, Self: { $ref: '#/components/schemas/Self' } },
    },
  };

  it('follows a chain of $refs and reports the pointer the last one leads to', () => {
    expect(follow(document, { $ref: '#/components/schemas/Alias' }, '#/paths/x')).toEqual({ node: { type: 'string' }, pointer: '#/components/schemas/Id' });
    expect(follow(document, { $ref: '#/components/schemas/a~1b' })).toEqual({ node: { type: 'integer' }, pointer: '#/components/schemas/a~1b' });
    expect(follow(document, { type: 'boolean' }, '#/here')).toEqual({ node: { type: 'boolean' }, pointer: '#/here' });
    expect(resolve(document, { $ref: '#/components/schemas/Alias' })).toEqual({ type: 'string' });
  });

  it('throws on a dangling $ref, naming it', () => {
    const error = thrown(() => resolve(document, { $ref: '#/components/schemas/Missing' }));
    expect(error.ref).toBe('#/components/schemas/Missing');
    expect(error.message).toMatch(/'#\/components\/schemas\/Missing'.*points at nothing/);
  });

  it('throws on a $ref that refers to itself, naming it', () => {
    const error = thrown(() => resolve(document, { $ref: '#/components/schemas/Self' }));
    expect(error.ref).toBe('#/components/schemas/Self');
    expect(error.message).toContain('loops');
  });

  it('throws on a $ref that leaves the document, naming it', () => {
    const error = thrown(() => resolve(document, { $ref: 'other.yaml#/components/schemas/Id' }));
    expect(error.ref).toBe('other.yaml#/components/schemas/Id');
  });
});

describe('scopesOf', () => {
  it('reads the scopes from the security requirements, once each, and nothing from vendor extensions', () => {
    expect(scopesOf({ 'x-patchbay-scopes': ['connections:read'] })).toEqual([]);
    expect(scopesOf({ security: [{ ApiKeyAuth: ['connections:write'] }, { BasicAuth: ['connections:write'] }] })).toEqual(['connections:write']);
    expect(scopesOf({}, [{ ApiKeyAuth: ['admin'] }])).toEqual(['admin']);
    expect(scopesOf({ security: [] }, [{ ApiKeyAuth: ['admin'] }])).toEqual([]);
    expect(scopesOf({ security: [{ ApiKeyAuth: ['a', 'b'] }, { BasicAuth: ['b', 'a'] }] })).toEqual(['a', 'b']);
  });

  it('gives every secured operation of the bundles at least one scope, and the public ones none', () => {
    expect(operations.filter((o) => o.secured && o.scopes.length === 0).map((o) => o.operationId)).toEqual([]);
    expect(operations.filter((o) => !o.secured && o.scopes.length > 0).map((o) => o.operationId)).toEqual([]);
  });
});

describe('pathPattern', () => {
  it('matches a concrete path of the template, one segment per parameter', () => {
    const pattern = pathPattern('/v1/providers/{slug}/connections/{reference}');
    expect(pattern.test('/v1/providers/stripe/connections/eu-1')).toBe(true);
    expect(pattern.test('/v1/providers/stripe/connections/eu/1')).toBe(false);
    expect(pattern.test('/v1/providers/stripe/connections/')).toBe(false);
    expect(pathPattern('/a.b/{x}').test('/aXb/1')).toBe(false);
  });
});
