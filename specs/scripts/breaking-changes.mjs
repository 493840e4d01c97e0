// The breaking-change gate: compares the bundle of each API as it is now with the bundle of its
// last release (specs/released/<api>.json) and names every change that would break a client
// built against the release. A break that is deliberate is listed, with a reason, in
// specs/released/ALLOWED-BREAKS.yaml, so that it shows up in review; a listed break the specs no
// longer make is a stale marker and fails too. check-breaks.mjs runs it (`pnpm lint`), the test
// suite runs it on the workspace (CI), release-snapshot.mjs moves the baseline. Decision 0014
// says why this is our own comparer and what counts as a break.
//
// A break is named by one line, its id, which is also what ALLOWED-BREAKS.yaml lists:
//   <api> <METHOD> <released path>: <kind>[ at <where> <pointer>][ (<detail>)]
//   <api> schema|parameter <Component>: <kind> at <pointer>[ (<detail>)]
//   connections GET /v1/connections: new-required-parameter at query parameter region
//   connections schema ConnectionCreate: new-required-request-member at /reference
// A break inside a named component is named by the component, once, however many operations
// use it. <where> is `request <media type>`, `response <status> <media type>`, `<in> parameter
// <name>` or `response <status> header <name>`; a pointer is a JSON Pointer into the instance,
// with `*` for any array item or map value.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { SpecsError, bundleSpecs, loadSpecsConfig } from './pipeline.mjs';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** What each kind of break does to a released client; printed under a failing gate. */
export const BREAK_KINDS = {
  'removed-api': 'the API a released client calls is gone',
  'removed-operation': 'a released client calls it and gets a 404 or 405',
  'changed-operation-id': 'the generated client names its call after the operationId',
  'tightened-security': 'a key that could call it before no longer can',
  'new-required-parameter': 'a released client does not send it and gets a 400',
  'parameter-became-required': 'a released client may not send it and gets a 400',
  'removed-parameter': 'a released client sends it and gets a 400, or loses what it did',
  'new-required-request-body': 'a released client sends no body and gets a 400',
  'request-body-became-required': 'a released client may send no body and gets a 400',
  'removed-request-body': 'a released client sends a body that is now refused or ignored',
  'removed-request-media-type': 'a released client sends that media type and gets a 415',
  'new-required-request-member': 'a released client does not send it and gets a 400',
  'removed-request-member': 'a released client sends it and gets a 400, or loses what it did',
  'narrowed-request-enum': 'a released client sends a value that is now refused',
  'narrowed-request-constraint': 'a released client sends a value that is now refused',
  'changed-request-default': 'a released client that leaves it out gets another behaviour',
  'changed-type': 'a released client sends or reads a value of the old type',
  'removed-success-response': 'a released client waits for a status it no longer gets',
  'removed-response-media-type': 'a released client asks for or parses a media type it no longer gets',
  'removed-response-header': 'a released client reads a header that is no longer sent',
  'response-header-became-optional': 'a released client relies on a header that may be missing',
  'removed-response-member': 'a released client reads a member that is no longer there',
  'response-member-became-optional': 'a released client relies on a member that may be missing',
};

/** The file of deliberate, reviewed breaks, relative to the workspace root. */
export const ALLOWED_BREAKS_FILE = 'specs/released/ALLOWED-BREAKS.yaml';
export const RELEASED_DIR = 'specs/released';

/**
 * Every change from `released` to `current` (two bundled OpenAPI 3.1 documents of one API)
 * that would break a client of `released`.
 * @returns {{ kind: string, id: string }[]} in a stable order
 */
export function findBreakingChanges(api, released, current) {
  const found = new Map();
  const add = (kind, scope, at, detail, operation) => {
    const id = `${scope}: ${kind}${at ? ` at ${at}` : ''}${detail ? ` (${detail})` : ''}`;
    if (!found.has(id)) found.set(id, { kind, id, operations: [] });
    if (!found.get(id).operations.includes(operation)) found.get(id).operations.push(operation);
  };
  const currentPaths = new Map(Object.entries(current.paths ?? {}).map(([path, item]) => [pathShape(path), { path, item }]));
  for (const [path, oldItem] of Object.entries(released.paths ?? {})) {
    const { path: newPath, item: newItem } = currentPaths.get(pathShape(path)) ?? {};
    for (const method of METHODS) {
      const oldOp = oldItem[method];
      if (!oldOp) continue;
      const operation = `${api} ${method.toUpperCase()} ${path}`;
      const report = (kind, at, detail) => add(kind, operation, at, detail, operation);
      const newOp = newItem?.[method];
      if (!newOp) {
        report('removed-operation');
        continue;
      }
      // A break inside a named component is named once, by the component, whatever the number
      // of operations that use it: one marker for one change.
      const componentSite = (kind, name) => ({ where: '', report: (k, at, detail) => add(k, `${api} ${kind} ${name}`, at, detail, operation) });
      const ctx = { old: released, new: current, report, componentSite };
      compareOperation(ctx, { path, item: oldItem, op: oldOp }, { path: newPath, item: newItem, op: newOp });
    }
  }
  return [...found.values()];
}

/** `/v1/connections/{connectionId}` and `/v1/connections/{id}` are one path to a client. */
function pathShape(path) {
  return path.replace(/\{[^}]+\}/g, '{}');
}

function compareOperation(ctx, before, after) {
  const { report } = ctx;
  if (before.op.operationId && before.op.operationId !== after.op.operationId) report('changed-operation-id', '', `${before.op.operationId} -> ${after.op.operationId ?? 'none'}`);
  compareSecurity(ctx, before.op.security ?? ctx.old.security ?? [], after.op.security ?? ctx.new.security ?? []);

  // Parameters: path-level ones, overridden by the operation's own (same `in` and name).
  const oldParams = parametersOf(ctx.old, before);
  const newParams = parametersOf(ctx.new, after);
  for (const [key, oldParam] of oldParams) {
    const newParam = newParams.get(key);
    const where = `${oldParam.in} parameter ${oldParam.name}`;
    if (!newParam) {
      report('removed-parameter', where);
      continue;
    }
    if (!oldParam.required && newParam.required) report('parameter-became-required', where);
    const site = oldParam.component && oldParam.component === newParam.component ? ctx.componentSite('parameter', oldParam.component) : { where, report };
    compareSchema(ctx, 'request', oldParam.schema, newParam.schema, site, '');
  }
  for (const [key, newParam] of newParams) {
    if (!oldParams.has(key) && newParam.required) report('new-required-parameter', `${newParam.in} parameter ${newParam.name}`);
  }

  // The request body: everything a released client may send must still be accepted.
  const oldBody = resolve(ctx.old, before.op.requestBody);
  const newBody = resolve(ctx.new, after.op.requestBody);
  if (!oldBody && newBody?.required) report('new-required-request-body', 'request');
  if (oldBody && !newBody) report('removed-request-body', 'request');
  if (oldBody && newBody) {
    if (!oldBody.required && newBody.required) report('request-body-became-required', 'request');
    for (const [type, oldMedia] of Object.entries(oldBody.content ?? {})) {
      const newMedia = newBody.content?.[type];
      if (!newMedia) report('removed-request-media-type', `request ${type}`);
      else compareSchema(ctx, 'request', oldMedia.schema, newMedia.schema, { where: `request ${type}`, report }, '');
    }
  }

  // Responses: everything a released client may read must still be sent, and nothing it
  // cannot read. A removed error status is not a break: the client's handler is dead code.
  const newResponses = after.op.responses ?? {};
  for (const [status, oldRef] of Object.entries(before.op.responses ?? {})) {
    const oldResponse = resolve(ctx.old, oldRef);
    const newResponse = resolve(ctx.new, newResponses[status]);
    if (!newResponse) {
      if (/^[23]/.test(status)) report('removed-success-response', `response ${status}`);
      continue;
    }
    const newHeaders = new Map(Object.entries(newResponse.headers ?? {}).map(([name, header]) => [name.toLowerCase(), header]));
    for (const [name, oldHeaderRef] of Object.entries(oldResponse.headers ?? {})) {
      const oldHeader = resolve(ctx.old, oldHeaderRef);
      const newHeader = resolve(ctx.new, newHeaders.get(name.toLowerCase()));
      const where = `response ${status} header ${name}`;
      if (!newHeader) report('removed-response-header', where);
      else {
        if (oldHeader.required && !newHeader.required) report('response-header-became-optional', where);
        compareSchema(ctx, 'response', oldHeader.schema, newHeader.schema, { where, report }, '');
      }
    }
    for (const [type, oldMedia] of Object.entries(oldResponse.content ?? {})) {
      const newMedia = newResponse.content?.[type];
      if (!newMedia) report('removed-response-media-type', `response ${status} ${type}`);
      else compareSchema(ctx, 'response', oldMedia.schema, newMedia.schema, { where: `response ${status} ${type}`, report }, '');
    }
  }
}

/** Every alternative of the released requirements must still be met by a key that met it:
 * some alternative now asks for no other scheme and no other scope. */
function compareSecurity(ctx, oldSecurity, newSecurity) {
  for (const oldAlternative of oldSecurity) {
    const met = newSecurity.some((newAlternative) =>
      Object.entries(newAlternative).every(([scheme, scopes]) => scheme in oldAlternative && scopes.every((scope) => oldAlternative[scheme].includes(scope))),
    );
    if (!met) {
      const shown = Object.entries(oldAlternative).map(([scheme, scopes]) => `${scheme}${scopes.length ? ` ${scopes.join(' ')}` : ''}`).join(' + ') || 'no credentials';
      ctx.report('tightened-security', '', `${shown} no longer enough`);
    }
  }
}

/** The operation's parameters by `in` and name (headers case-insensitively; path parameters
 * by their place in the path, since renaming one changes nothing for a client). */
function parametersOf(doc, { path, item, op }) {
  const pathNames = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
  const params = new Map();
  for (const ref of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
    const { value, ref: component } = deref(doc, ref);
    const param = { ...value, component: component?.startsWith('#/components/parameters/') ? component.split('/').pop() : undefined };
    params.set(param.in === 'path' ? `path:${pathNames.indexOf(param.name)}` : keyOf(param), param);
  }
  return params;
}

function keyOf(param) {
  return `${param.in}:${param.in === 'header' ? param.name.toLowerCase() : param.name}`;
}

/** Follows a local `$ref` chain (`#/components/...`); sibling keywords of a `$ref` (allowed in
 * OpenAPI 3.1) override the target's. @returns the resolved object and the last ref followed */
function deref(doc, node) {
  let value = node;
  let ref;
  const seen = new Set();
  while (value && typeof value === 'object' && typeof value.$ref === 'string') {
    if (seen.has(value.$ref)) throw new SpecsError(`$ref ${value.$ref} refers to itself`);
    seen.add(value.$ref);
    ref = value.$ref;
    const { $ref, ...siblings } = value;
    value = { ...pointerTarget(doc, $ref), ...siblings };
  }
  return { value, ref };
}

function resolve(doc, node) {
  return node === undefined ? undefined : deref(doc, node).value;
}

function pointerTarget(doc, ref) {
  if (!ref.startsWith('#/')) throw new SpecsError(`$ref ${ref} is not local to the bundle`);
  let target = doc;
  for (const token of ref.slice(2).split('/')) {
    target = target?.[token.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (target === undefined) throw new SpecsError(`$ref ${ref} points at nothing`);
  }
  return target;
}

/**
 * Compares two schemas at one place of an operation. `direction` is `request` (what the server
 * accepts: it may only grow) or `response` (what the server sends: it may only shrink, and
 * what a client reads must stay there). `stack` holds the ref pairs being compared above this
 * one, which ends the walk through a recursive schema.
 */
function compareSchema(ctx, direction, oldNode, newNode, site, pointer, stack = new Set()) {
  if (oldNode === undefined || newNode === undefined) return;
  // Boolean schemas: `true` accepts anything, `false` nothing.
  if (typeof oldNode === 'boolean') oldNode = oldNode ? {} : { type: [] };
  if (typeof newNode === 'boolean') newNode = newNode ? {} : { type: [] };
  const oldSide = deref(ctx.old, oldNode);
  const newSide = deref(ctx.new, newNode);
  if (oldSide.ref && newSide.ref) {
    const pair = `${oldSide.ref}|${newSide.ref}`;
    if (stack.has(pair)) return;
    stack = new Set(stack).add(pair);
    if (oldSide.ref.startsWith('#/components/schemas/')) {
      site = ctx.componentSite('schema', oldSide.ref.split('/').pop());
      pointer = '';
    }
  }
  const before = flattenAllOf(ctx.old, oldSide.value);
  const after = flattenAllOf(ctx.new, newSide.value);
  const report = (kind, detail) => site.report(kind, placeOf(site, pointer || '/'), detail);

  // oneOf / anyOf (and a plain schema as a single branch): pair the branches by the component
  // they name, else by type. A request must still accept every released branch; a response
  // may not send a branch the release did not have (the usual one: `{ type: 'null' }`).
  if (branchesOf(before) || branchesOf(after)) {
    const oldBranches = (branchesOf(before) ?? [oldNode]).map((node) => ({ node, ...branchKey(ctx.old, node) }));
    const newBranches = (branchesOf(after) ?? [newNode]).map((node) => ({ node, ...branchKey(ctx.new, node) }));
    const pairOf = (branch, others) => others.find((other) => other.key === branch.key) ?? others.find((other) => covers(other.types, branch.types) && covers(branch.types, other.types));
    if (direction === 'request') {
      for (const oldBranch of oldBranches) {
        const newBranch = pairOf(oldBranch, newBranches);
        if (!newBranch) report('changed-type', `no longer accepts ${oldBranch.label}`);
        else compareSchema(ctx, direction, oldBranch.node, newBranch.node, site, pointer, stack);
      }
    } else {
      for (const newBranch of newBranches) {
        const oldBranch = pairOf(newBranch, oldBranches);
        if (!oldBranch) report('changed-type', `may now be ${newBranch.label}`);
        else compareSchema(ctx, direction, oldBranch.node, newBranch.node, site, pointer, stack);
      }
    }
    return;
  }

  const oldTypes = typesOf(before);
  const newTypes = typesOf(after);
  const narrowed = direction === 'request' ? !covers(newTypes, oldTypes) : !covers(oldTypes, newTypes);
  if (narrowed) {
    report('changed-type', `${formatTypes(oldTypes)} -> ${formatTypes(newTypes)}`);
    return;
  }

  const oldEnum = enumOf(before);
  const newEnum = enumOf(after);
  if (direction === 'request' && newEnum) {
    const removed = oldEnum ? oldEnum.filter((value) => !includesValue(newEnum, value)) : undefined;
    if (!oldEnum) report('narrowed-request-enum', `now only ${newEnum.map(show).join(', ')}`);
    else if (removed.length > 0) report('narrowed-request-enum', `removed ${removed.map(show).join(', ')}`);
  }
  // A new value in a response enum is not a break: clients must take an unknown value as they
  // take an unknown member (decision 0014). A removed one is a narrowing, and fine.

  if (direction === 'request') {
    for (const [keyword, tighter] of CONSTRAINTS) {
      const was = before[keyword];
      const is = after[keyword];
      if (is !== undefined && (was === undefined || tighter(was, is))) report('narrowed-request-constraint', `${keyword} ${was === undefined ? 'none' : show(was)} -> ${show(is)}`);
    }
    if (before.default !== undefined && !sameValue(before.default, after.default)) report('changed-request-default', `${show(before.default)} -> ${after.default === undefined ? 'none' : show(after.default)}`);
  }

  compareObject(ctx, direction, before, after, site, pointer, stack);
  if (before.items && after.items) compareSchema(ctx, direction, before.items, after.items, site, `${pointer}/*`, stack);
}

/** Members of an object: what a request must not start to require or stop accepting, what a
 * response must keep sending. readOnly members are not sent, writeOnly ones never read. */
function compareObject(ctx, direction, before, after, site, pointer, stack) {
  const oldProps = before.properties ?? {};
  const newProps = after.properties ?? {};
  const oldRequired = new Set(before.required ?? []);
  const newRequired = new Set(after.required ?? []);
  const memberAt = (name) => placeOf(site, `${pointer}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  const flag = (side, name, doc, flagName) => Boolean(resolve(doc, side[name])?.[flagName]);

  if (direction === 'request') {
    for (const name of newRequired) {
      if (!oldRequired.has(name) && !flag(newProps, name, ctx.new, 'readOnly')) site.report('new-required-request-member', memberAt(name));
    }
    for (const name of Object.keys(oldProps)) {
      if (flag(oldProps, name, ctx.old, 'readOnly')) continue;
      if (!(name in newProps)) site.report('removed-request-member', memberAt(name));
      else if (flag(newProps, name, ctx.new, 'readOnly')) site.report('removed-request-member', memberAt(name), 'now readOnly');
      else compareSchema(ctx, direction, oldProps[name], newProps[name], site, `${pointer}/${name}`, stack);
    }
  } else {
    for (const name of Object.keys(oldProps)) {
      if (flag(oldProps, name, ctx.old, 'writeOnly')) continue;
      if (!(name in newProps)) site.report('removed-response-member', memberAt(name));
      else if (flag(newProps, name, ctx.new, 'writeOnly')) site.report('removed-response-member', memberAt(name), 'now writeOnly');
      else {
        if (oldRequired.has(name) && !newRequired.has(name)) site.report('response-member-became-optional', memberAt(name));
        compareSchema(ctx, direction, oldProps[name], newProps[name], site, `${pointer}/${name}`, stack);
      }
    }
  }

  // A map's values (`additionalProperties: <schema>`): compared like a member named `*`.
  const oldMap = isSchema(before.additionalProperties);
  const newMap = isSchema(after.additionalProperties);
  if (oldMap && newMap) compareSchema(ctx, direction, before.additionalProperties, after.additionalProperties, site, `${pointer}/*`, stack);
  else if (oldMap && after.additionalProperties === false) site.report(direction === 'request' ? 'removed-request-member' : 'removed-response-member', placeOf(site, `${pointer}/*`));
}

/** Where in a site: `request application/json /reference`, or a component's own pointer. */
function placeOf(site, pointer) {
  return site.where ? `${site.where} ${pointer}` : pointer;
}

/** Request constraints and whether the new value is tighter than the released one. */
const CONSTRAINTS = [
  ['minLength', (was, is) => is > was],
  ['maxLength', (was, is) => is < was],
  ['minimum', (was, is) => is > was],
  ['maximum', (was, is) => is < was],
  ['exclusiveMinimum', (was, is) => is > was],
  ['exclusiveMaximum', (was, is) => is < was],
  ['minItems', (was, is) => is > was],
  ['maxItems', (was, is) => is < was],
  ['minProperties', (was, is) => is > was],
  ['maxProperties', (was, is) => is < was],
  ['pattern', (was, is) => is !== was],
  ['format', (was, is) => is !== was],
  ['multipleOf', (was, is) => is !== was && is % was !== 0],
  ['uniqueItems', (was, is) => is === true && was !== true],
];

function isSchema(value) {
  return value !== undefined && value !== false && value !== true;
}

function branchesOf(schema) {
  return schema.oneOf ?? schema.anyOf;
}

function branchKey(doc, node) {
  const { value, ref } = deref(doc, node);
  const types = typesOf(flattenAllOf(doc, value));
  const label = ref ? ref.split('/').pop() : formatTypes(types);
  return { key: ref ?? `type:${formatTypes(types)}`, types, label };
}

/** allOf merged into one schema (members and required lists joined); enough for the shapes a
 * spec uses allOf for (extending a component). */
function flattenAllOf(doc, schema) {
  if (!schema.allOf) return schema;
  const { allOf, ...rest } = schema;
  const merged = { ...rest, properties: { ...(rest.properties ?? {}) }, required: [...(rest.required ?? [])] };
  for (const part of allOf) {
    const value = flattenAllOf(doc, resolve(doc, part));
    for (const [key, v] of Object.entries(value)) {
      if (key === 'properties') Object.assign(merged.properties, v);
      else if (key === 'required') merged.required.push(...v);
      else if (!(key in merged)) merged[key] = v;
    }
  }
  return merged;
}

/** The JSON types a schema allows; undefined when it does not say (any). */
function typesOf(schema) {
  if (schema.type !== undefined) return new Set([schema.type].flat());
  const values = enumOf(schema);
  if (values) return new Set(values.map(jsonType));
  if (schema.properties || schema.additionalProperties !== undefined) return new Set(['object']);
  if (schema.items) return new Set(['array']);
  return undefined;
}

function covers(wider, narrower) {
  if (wider === undefined) return true;
  if (narrower === undefined) return false;
  return [...narrower].every((type) => wider.has(type) || (type === 'integer' && wider.has('number')));
}

function formatTypes(types) {
  return types ? [...types].sort().join('|') : 'any';
}

function enumOf(schema) {
  if ('const' in schema) return [schema.const];
  return schema.enum;
}

function jsonType(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

function sameValue(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function includesValue(values, value) {
  return values.some((v) => sameValue(v, value));
}

function show(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The released bundles of the workspace at `root`: `specs/released/<api>.json`, by API name.
 * @returns {Record<string, object>}
 */
export function readReleased(root) {
  const dir = join(root, RELEASED_DIR);
  const files = existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith('.json')).sort() : [];
  if (files.length === 0) throw new SpecsError(`${RELEASED_DIR}/ holds no released bundle: the gate has nothing to compare with (run \`pnpm --filter @patchbay/specs release-snapshot\` once)`);
  return Object.fromEntries(files.map((file) => [file.slice(0, -'.json'.length), JSON.parse(readFileSync(join(dir, file), 'utf8'))]));
}

/**
 * The deliberate breaks of ALLOWED-BREAKS.yaml: `allowed: [{ break: <id>, reason: <why> }]`.
 * A malformed file stops the gate: a marker that does not parse must not let a break through.
 * @returns {{ id: string, reason: string }[]}
 */
export function readAllowedBreaks(root) {
  const path = join(root, ALLOWED_BREAKS_FILE);
  if (!existsSync(path)) return [];
  const data = YAML.parse(readFileSync(path, 'utf8')) ?? {};
  const fail = (message) => {
    throw new SpecsError(`${ALLOWED_BREAKS_FILE}: ${message}`);
  };
  if (typeof data !== 'object' || Array.isArray(data) || Object.keys(data).some((key) => key !== 'allowed')) fail('must hold one key, `allowed`, a list');
  const entries = data.allowed ?? [];
  if (!Array.isArray(entries)) fail('`allowed` must be a list');
  const seen = new Set();
  return entries.map((entry, index) => {
    const keys = entry && typeof entry === 'object' ? Object.keys(entry).sort().join(',') : '';
    if (keys !== 'break,reason') fail(`entry ${index + 1} must have exactly \`break\` (the id the gate printed) and \`reason\``);
    if (typeof entry.break !== 'string' || entry.break.trim() === '') fail(`entry ${index + 1}: \`break\` must be the id the gate printed`);
    if (typeof entry.reason !== 'string' || entry.reason.trim().length < 10) fail(`entry ${index + 1} (${entry.break}): \`reason\` must say why the break is accepted, and who agreed`);
    if (seen.has(entry.break)) fail(`entry ${index + 1} lists \`${entry.break}\` a second time`);
    seen.add(entry.break);
    return { id: entry.break, reason: entry.reason };
  });
}

/**
 * The gate over every API: the released bundles against `documents` (the bundles as they are
 * now, by API name), and the breaks against ALLOWED-BREAKS.yaml.
 * @returns {{ apis: string[], breaks: { kind: string, id: string }[], unmarked: { kind: string, id: string }[], stale: { id: string, reason: string }[] }}
 */
export function checkBreakingChanges(root, documents) {
  const released = readReleased(root);
  const allowed = readAllowedBreaks(root);
  const breaks = [];
  for (const [api, document] of Object.entries(released)) {
    if (!documents[api]) breaks.push({ kind: 'removed-api', id: `${api}: removed-api` });
    else breaks.push(...findBreakingChanges(api, document, documents[api]));
  }
  const allowedIds = new Set(allowed.map((entry) => entry.id));
  const breakIds = new Set(breaks.map((b) => b.id));
  return {
    apis: Object.keys(released),
    breaks,
    unmarked: breaks.filter((b) => !allowedIds.has(b.id)),
    stale: allowed.filter((entry) => !breakIds.has(entry.id)),
  };
}

/** What a failing gate prints: each break, what it does to a client, and how to mark it. */
export function formatGateFailure({ unmarked, stale }) {
  const lines = [];
  if (unmarked.length > 0) {
    lines.push(`${unmarked.length} breaking change(s) against ${RELEASED_DIR}/ that ${ALLOWED_BREAKS_FILE} does not allow:`);
    for (const b of unmarked) {
      const ops = b.operations ?? [];
      const usedBy = ops.length === 0 || ops[0] === b.id.split(':')[0] ? '' : `; in ${ops[0]}${ops.length > 1 ? ` and ${ops.length - 1} more` : ''}`;
      lines.push(`  ${b.id}`, `      ${BREAK_KINDS[b.kind]}${usedBy}`);
    }
    lines.push('', `Undo the change, or add a variant instead (a new member, operation or version). If the break is deliberate and agreed, add it to ${ALLOWED_BREAKS_FILE}:`);
    for (const b of unmarked) lines.push(`  - break: ${JSON.stringify(b.id)}`, '    reason: <why it is accepted, and who agreed>');
  }
  if (stale.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push(`${stale.length} stale marker(s) in ${ALLOWED_BREAKS_FILE}: the specs no longer make these breaks; remove them:`);
    for (const entry of stale) lines.push(`  ${entry.id}`);
  }
  return lines.join('\n');
}

/**
 * The gate as `pnpm lint` runs it on the workspace (or a copy of it) at `root`: bundles every
 * API in-process, checks, and says what it found, as check-breaks.mjs prints it.
 * @returns {Promise<{ ok: boolean, output: string }>}
 */
export async function runGate(root) {
  try {
    const { documents } = await bundleSpecs(await loadSpecsConfig(root));
    const result = checkBreakingChanges(root, documents);
    if (result.unmarked.length > 0 || result.stale.length > 0) return { ok: false, output: `✖ specs: ${formatGateFailure(result)}` };
    const allowed = result.breaks.length > 0 ? `; ${result.breaks.length} allowed break(s) (${ALLOWED_BREAKS_FILE})` : '';
    return { ok: true, output: `specs: no breaking change against the released ${result.apis.join(', ')}${allowed}` };
  } catch (error) {
    if (!(error instanceof SpecsError)) throw error;
    return { ok: false, output: `✖ specs: ${error.message}` };
  }
}
