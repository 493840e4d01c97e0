// Answers by id from the spec's examples (issue 16). The examples tell one story (the
// examples test checks it): the connection `GET /v1/connections/{id}` returns is one the list
// contains, its events are about it, the tenant's keys name the tenant. So a path parameter
// that names a resource selects the example about that resource, and an id no example has is
// the operation's 404 problem, as the server would answer it.
//
// Browser-safe: no Node module; used by the mock process and by the MSW handlers.

/** Members whose value identifies the object that holds them. */
const ID_MEMBERS = new Set(['id', 'slug']);

/** Path parameters that name a resource (`connectionId`, `tenantId`, `keyId`, `slug`); a
 * `reference` names what an upsert creates, so it never 404s. */
export const isIdParameter = (name) => name === 'slug' || /Id$/.test(name);

const successStatuses = (operation) =>
  Object.keys(operation.responses)
    .filter((s) => /^2\d\d$/.test(s))
    .sort();

/** The first JSON media type's examples of a response. */
function examplesOf(response) {
  if (!response) return [];
  const [type, media] = Object.entries(response.content ?? {}).find(([t]) => /json/.test(t)) ?? [];
  return media ? media.examples.map((e) => ({ ...e, type })) : [];
}

/** How deep `value` first occurs in `node` as a string member (0: a member of the top object;
 * Infinity: not at all). A list's items count as the top. */
function depthOf(node, value, depth = 0) {
  if (node === null || typeof node !== 'object') return Infinity;
  if (Array.isArray(node)) return Math.min(Infinity, ...node.map((item) => depthOf(item, value, depth)));
  let best = Infinity;
  for (const [key, member] of Object.entries(node)) {
    if (member === value) best = Math.min(best, depth);
    else if (member && typeof member === 'object') best = Math.min(best, depthOf(member, value, key === 'data' ? depth : depth + 1));
  }
  return best;
}

function collectIds(node, into) {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach((item) => collectIds(item, into));
  for (const [key, member] of Object.entries(node)) {
    if (ID_MEMBERS.has(key) && typeof member === 'string') into.add(member);
    else collectIds(member, into);
  }
}

/** Every id an example of a success response describes, over every operation. */
export function knownIds(operations) {
  const ids = new Set();
  for (const operation of operations) {
    for (const status of successStatuses(operation)) for (const example of examplesOf(operation.responses[status])) collectIds(example.value, ids);
  }
  return ids;
}

/** The operation's 404 problem about `value`: its first 404 example, with the example's own
 * id in the text replaced by this one (the examples are the server's wording). */
function notFoundAnswer(operation, name, value) {
  const [example] = examplesOf(operation.responses['404']);
  if (!example) return { status: 404, problem: { code: 'not_found', detail: `No resource ${value}.` } };
  const body = structuredClone(example.value);
  if (typeof body.detail === 'string') {
    const kind = name === 'slug' ? /'[a-z0-9][a-z0-9_-]*'/ : /\b[a-z]+_[0-9a-z]{26}\b/;
    body.detail = body.detail.replace(kind, name === 'slug' ? `'${value}'` : value);
  }
  return { status: 404, body, contentType: example.type };
}

/**
 * The answer by id to a request for `operation` with these path parameters, or undefined when
 * the examples have nothing to say (no id parameter): the caller then answers as before.
 * @returns {{ status: number, body?: unknown, contentType?: string, problem?: object } | undefined}
 */
export function createExampleAnswers(operations) {
  const ids = knownIds(operations);
  const getAt = new Map(operations.filter((o) => o.method === 'get').map((o) => [o.path, o]));
  const schemaOf = (operation) => {
    const status = successStatuses(operation)[0];
    const content = operation.responses[status]?.content ?? {};
    return JSON.stringify(Object.values(content)[0]?.schema ?? null);
  };

  /** The example of `operation` most about every value, or undefined. */
  function bestExample(operation, values) {
    const status = successStatuses(operation)[0];
    if (!status) return undefined;
    let best;
    for (const example of examplesOf(operation.responses[status])) {
      const depths = values.map((v) => depthOf(example.value, v));
      const score = Math.max(...depths);
      if (score !== Infinity && (!best || score < best.score)) best = { score, example, status: Number(status) };
    }
    return best;
  }

  return function answerById(operation, pathParams) {
    const named = operation.parameters.filter((p) => p.in === 'path' && isIdParameter(p.name)).map((p) => ({ name: p.name, value: String(pathParams[p.name]) }));
    if (named.length === 0) return undefined;
    const unknown = named.find((p) => !ids.has(p.value));
    if (unknown) return notFoundAnswer(operation, unknown.name, unknown.value);
    const values = named.map((p) => p.value);
    const found = bestExample(operation, values);
    if (found) return { status: found.status, body: structuredClone(found.example.value), contentType: found.example.type };
    const status = successStatuses(operation)[0];
    const [first] = examplesOf(operation.responses[status]);
    // A list about a resource no example of it describes (the events of a connection the
    // events examples do not cover): its items are the ones about that resource, maybe none.
    if (first && Array.isArray(first.value?.data)) {
      const items = new Map();
      for (const example of examplesOf(operation.responses[status])) {
        for (const item of example.value.data) if (values.every((v) => depthOf(item, v) === 0)) items.set(JSON.stringify(item), item);
      }
      return { status: Number(status), body: { ...structuredClone(first.value), data: [...items.values()].map((i) => structuredClone(i)), next_cursor: null }, contentType: first.type };
    }
    // An update of a resource its own examples do not show (PATCH of the vPOS connection): the
    // resource as its GET shows it, when both answer the same schema. (An archive or a report
    // keeps its documented example: the resource as-is would claim a change that did not
    // happen. The stateful mode makes the change.)
    const get = getAt.get(operation.path);
    if (get && (operation.method === 'put' || operation.method === 'patch') && schemaOf(get) === schemaOf(operation)) {
      const fromGet = bestExample(get, values);
      if (fromGet) return { status: Number(status), body: structuredClone(fromGet.example.value), contentType: fromGet.example.type };
    }
    return undefined;
  };
}

/** Every resource object of `kind` (a schema-shaped example item with an id) the examples
 * of these operations describe, deduplicated by id, first seen first. */
export function exampleResources(operations, operationIds) {
  const byId = new Map();
  for (const operation of operations.filter((o) => operationIds.includes(o.operationId))) {
    for (const status of successStatuses(operation)) {
      for (const example of examplesOf(operation.responses[status])) {
        const items = Array.isArray(example.value?.data) ? example.value.data : [example.value];
        for (const item of items) if (item && typeof item.id === 'string' && !byId.has(item.id)) byId.set(item.id, structuredClone(item));
      }
    }
  }
  return [...byId.values()];
}
