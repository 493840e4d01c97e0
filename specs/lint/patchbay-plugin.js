// Patchbay's own lint rules for Redocly CLI. Each rule guards a promise the API makes to
// its users; `test/spec-lint` breaks each one on purpose and expects the lint to fail.

/** A property whose name says it holds a secret. Matched on snake_case words, so
 * `credentials_summary` or `token_expires_at` do not count but `webhook_secret` does. */
const SECRET_WORDS = /(^|_)(secret|secrets|password|passwd|passphrase|token|api_key|apikey|private_key|access_key|secret_key|client_secret|auth_code|pin)$/i;

export function isSecretName(name) {
  return SECRET_WORDS.test(name.replace(/([a-z0-9])([A-Z])/g, '$1_$2'));
}

const resolveNode = (ctx, node) => (node && node.$ref ? ctx.resolve(node).node : node);
/** Whether a response (or a $ref to one) is documented as application/problem+json. */
const isProblemResponse = (ctx, response) => Object.keys(resolveNode(ctx, response)?.content ?? {}).includes('application/problem+json');
const hasExample = (mediaType) =>
  mediaType && (mediaType.example !== undefined || (mediaType.examples && Object.keys(mediaType.examples).length > 0));

/** The scopes an operation needs: those of its own security requirements (OpenAPI 3.1
 * allows them for every scheme). Every alternative (X-Api-Key, Basic, Bearer) must name the
 * same ones, or a caller's rights would depend on how it sends its key. */
export function requiredScopes(operation) {
  const alternatives = Array.isArray(operation.security) ? operation.security : [];
  const lists = alternatives.flatMap((requirement) => Object.values(requirement ?? {}));
  return lists.length === 0 ? [] : [...new Set(lists.flat())];
}

/** Every operation declares, in its own security requirements, the scopes it needs, the same
 * for every scheme; or it opts out in words with `security: []`. Denied by default: an
 * operation that names no scope is refused, and so is the retired `x-patchbay-scopes`. */
function OperationSecurityOrOptOut() {
  return {
    Operation: {
      enter(operation, ctx) {
        if (operation['x-patchbay-scopes'] !== undefined) {
          ctx.report({
            message: '`x-patchbay-scopes` is retired: name the scopes in the operation\'s security requirements (`security: [{ApiKeyAuth: [scope]}]`)',
            location: ctx.location.child('x-patchbay-scopes').key(),
          });
        }
        const own = operation.security;
        if (Array.isArray(own) && own.length === 0) {
          if (typeof operation['x-patchbay-public'] !== 'string' || operation['x-patchbay-public'].length < 3) {
            ctx.report({
              message: 'an operation with `security: []` must say why it is public in `x-patchbay-public`',
              location: ctx.location.child('security'),
            });
          }
          return;
        }
        if (!Array.isArray(own)) {
          ctx.report({
            message: 'operation declares no security requirement of its own: name its scopes (`security: [{ApiKeyAuth: [scope]}]`), or opt out with `security: []` and `x-patchbay-public`',
            location: ctx.location.key(),
          });
          return;
        }
        own.forEach((requirement, index) => {
          const entries = Object.entries(requirement ?? {});
          if (entries.length === 0) {
            ctx.report({ message: 'an empty security requirement lets any caller in; name a scheme and its scopes', location: ctx.location.child(['security', index]) });
          }
          for (const [scheme, scopes] of entries) {
            if (!Array.isArray(scopes) || scopes.length === 0) {
              ctx.report({ message: `security requirement ${scheme} names no scope: every operation needs at least one (denied by default)`, location: ctx.location.child(['security', index, scheme]) });
            }
          }
        });
        const first = JSON.stringify([...(Object.values(own[0] ?? {})[0] ?? [])].sort());
        const differs = own.some((requirement) => Object.values(requirement ?? {}).some((scopes) => JSON.stringify([...(scopes ?? [])].sort()) !== first));
        if (differs) {
          ctx.report({ message: 'every security requirement of an operation must name the same scopes, whichever scheme the caller uses', location: ctx.location.child('security') });
        }
      },
    },
  };
}

/** Every operation documents at least one error as application/problem+json (RFC 9457). */
function OperationProblemResponse() {
  // Not in `webhooks`: those are requests Patchbay sends, answered by the tenant's receiver.
  let inWebhooks = false;
  return {
    WebhooksMap: {
      enter() {
        inWebhooks = true;
      },
      leave() {
        inWebhooks = false;
      },
    },
    Operation: {
      enter(operation, ctx) {
        if (inWebhooks) return;
        const responses = operation.responses ?? {};
        const problems = Object.entries(responses).filter(([status, response]) => (/^[45]/.test(status) || status === 'default') && isProblemResponse(ctx, response));
        if (problems.length === 0) {
          ctx.report({
            message: 'operation must document at least one 4xx or 5xx response as application/problem+json',
            location: ctx.location.child('responses').key(),
          });
        }
      },
    },
  };
}

/** Every request body and 2xx response carries an example, so the mock and the docs tell the truth. */
function OperationExamples() {
  return {
    Operation: {
      enter(operation, ctx) {
        const body = resolveNode(ctx, operation.requestBody);
        for (const [mediaType, content] of Object.entries(body?.content ?? {})) {
          if (!hasExample(content)) {
            ctx.report({
              message: `request body \`${mediaType}\` needs an example`,
              location: ctx.location.child(['requestBody', 'content', mediaType]).key(),
            });
          }
        }
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          if (!/^2/.test(status)) continue;
          const resolved = resolveNode(ctx, response);
          for (const [mediaType, content] of Object.entries(resolved?.content ?? {})) {
            if (!hasExample(content)) {
              ctx.report({
                message: `response ${status} \`${mediaType}\` needs an example`,
                location: ctx.location.child(['responses', status]).key(),
              });
            }
          }
        }
      },
    },
  };
}

/** The errors Patchbay answers with are documented on every operation that can get them, as
 * application/problem+json, so that clients can expect them and the mock can serve them
 * (`Prefer: code=...`): a secured operation can answer 401, 429 beyond a rate limit, and 503 while keys cannot be checked; one that needs a scope (its
 * security requirements), 403; one with parameters or a body, 400; one with a body, 413 and
 * 415; one that takes `If-Match`, 412; one that takes `Idempotency-Key`, 409 (still in flight)
 * and 422 (reused with another request). */
function OperationErrorResponses() {
  let globalSecurity;
  let pathParameters = [];
  // The `webhooks` section describes requests Patchbay sends to a tenant's receiver: it
  // answers none of them, so no error response of ours applies there.
  let inWebhooks = false;
  return {
    Root: {
      enter(root) {
        globalSecurity = root.security;
      },
    },
    WebhooksMap: {
      enter() {
        inWebhooks = true;
      },
      leave() {
        inWebhooks = false;
      },
    },
    PathItem: {
      enter(pathItem) {
        pathParameters = pathItem.parameters ?? [];
      },
    },
    Operation: {
      enter(operation, ctx) {
        if (inWebhooks) return;
        const parameters = [...pathParameters, ...(operation.parameters ?? [])].map((p) => resolveNode(ctx, p) ?? {});
        const takesHeader = (name) => parameters.some((p) => p.in === 'header' && String(p.name).toLowerCase() === name);
        const security = operation.security ?? globalSecurity;
        const required = [];
        const need = (status, why) => required.push([status, why]);
        if (Array.isArray(security) && security.length > 0) need('401', 'it is secured: a call without a valid key gets one');
        if (Array.isArray(security) && security.length > 0) need('503', 'it is secured: while the credential store cannot be reached, a call with a key gets one (never a 401)');
        if (Array.isArray(security) && security.length > 0) need('429', 'it is secured: a key, a tenant or an address beyond its rate limit gets one');
        if (requiredScopes(operation).length > 0) need('403', 'it needs a scope (its security requirements): a key without it gets one');
        if (operation.requestBody || parameters.length > 0) need('400', 'it takes parameters or a body: an invalid one gets one');
        if (operation.requestBody) {
          need('413', 'it takes a body: one that is too large gets one');
          need('415', 'it takes a body: one that is not JSON gets one');
        }
        if (takesHeader('if-match')) need('412', 'it takes If-Match: a stale one gets one');
        if (takesHeader('idempotency-key')) {
          need('409', 'it takes Idempotency-Key: a retry while the first request runs gets one');
          need('422', 'it takes Idempotency-Key: a key reused with another request gets one');
        }
        const responses = operation.responses ?? {};
        for (const [status, why] of required) {
          if (isProblemResponse(ctx, responses[status])) continue;
          ctx.report({
            message: `operation must document a ${status} response as application/problem+json: ${why}`,
            location: ctx.location.child('responses').key(),
          });
        }
      },
    },
  };
}

/** A property whose name says it is a secret must be writeOnly, so no response can carry it.
 * The one exception is a secret shown exactly once at creation (a new API key), which must
 * say so with `x-patchbay-reveal: once`. */
function SecretPropertyWriteOnly() {
  return {
    Schema: {
      enter(schema, ctx) {
        for (const [name, property] of Object.entries(schema.properties ?? {})) {
          if (!isSecretName(name)) continue;
          const resolved = resolveNode(ctx, property) ?? {};
          if (resolved.writeOnly === true || property.writeOnly === true) continue;
          if (resolved['x-patchbay-reveal'] === 'once' || property['x-patchbay-reveal'] === 'once') continue;
          ctx.report({
            message: `property \`${name}\` looks like a secret and must be \`writeOnly: true\``,
            location: ctx.location.child(['properties', name]).key(),
          });
        }
      },
    },
  };
}

export default function patchbayPlugin() {
  return {
    id: 'patchbay',
    rules: {
      oas3: {
        'operation-security-or-opt-out': OperationSecurityOrOptOut,
        'operation-problem-response': OperationProblemResponse,
        'operation-examples': OperationExamples,
        'operation-error-responses': OperationErrorResponses,
        'secret-property-write-only': SecretPropertyWriteOnly,
      },
    },
  };
}
