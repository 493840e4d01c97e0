/** The one secret scanner of the suites. Every secret a test makes (the factories' credentials,
 * the API keys they issue, every `credentials` member a request body carries) is registered
 * here; every exchange that goes through support/http.ts's call() or a target's client is
 * checked, raw body and every response header, against the secrets registered so far; and the
 * global teardown checks every line every server and mock of the run printed against every
 * secret registered in any test file (they are also appended to a file of the run). */
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR_VARIABLE } from './processes.js';

/** Shorter values would match by chance. */
const MIN_LENGTH = 8;
const SECRETS_FILE = 'secrets.jsonl';

/** value -> what it is (for the message that names a leak without printing the value). */
const registered = new Map<string, string>();

/** Registers a secret value (the value is returned, so a factory can register as it makes). */
export function registerSecret<T extends string>(value: T, label: string): T {
  if (value.length < MIN_LENGTH || registered.has(value)) return value;
  registered.set(value, label);
  const runDir = process.env[RUN_DIR_VARIABLE];
  if (runDir) appendFileSync(join(runDir, SECRETS_FILE), `${JSON.stringify({ value, label })}\n`);
  return value;
}

/** Registers every string member (at any depth) of the `credentials` of a JSON request body. */
export function registerCredentialsIn(body: unknown, where: string): void {
  const visit = (value: unknown, path: string, inCredentials: boolean): void => {
    if (typeof value === 'string') {
      if (inCredentials) registerSecret(value, `credential ${path} sent in ${where}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${path}/${i}`, inCredentials));
    } else if (value && typeof value === 'object') {
      for (const [name, member] of Object.entries(value)) visit(member, `${path}/${name}`, inCredentials || name === 'credentials');
    }
  };
  visit(body, '', false);
}

/** A secret masked for a message: its first 4 characters and its length. */
const masked = (secret: string) => `${secret.slice(0, 4)}…(${secret.length} chars)`;

/** Where each registered (or given) secret occurs in `text`, as messages naming `where`. */
export function findSecrets(text: string, where: string, secrets: Iterable<[string, string]> = registered): string[] {
  const found: string[] = [];
  for (const [secret, label] of secrets) {
    if (text.includes(secret)) found.push(`${label} (${masked(secret)}) appears in ${where}`);
  }
  return found;
}

/** Fails (throws) when a registered secret is in a response's raw body or any of its headers. */
export function assertNoSecretsInResponse(exchange: string, headers: Headers, rawBody: string): void {
  const found = [...findSecrets(rawBody, `the raw body of ${exchange}`)];
  headers.forEach((value, name) => found.push(...findSecrets(value, `the ${name} header of ${exchange}`)));
  if (found.length) throw new Error(`secret leaked: ${found.join('; ')}`);
}

/** A fetch that registers the credentials a request sends and checks every response for secrets. */
export function scanningFetch(inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const exchange = `${request.method} ${new URL(request.url).pathname}`;
    if (request.body && /json/.test(request.headers.get('content-type') ?? '')) {
      try {
        registerCredentialsIn(JSON.parse(await request.clone().text()), exchange);
      } catch {
        // Not JSON after all (a test sending a malformed body on purpose): nothing to register.
      }
    }
    const response = await inner(request);
    assertNoSecretsInResponse(`${exchange} -> ${response.status}`, response.headers, await response.clone().text());
    return response;
  };
}

/** Asserts that none of `secrets` (every registered secret when omitted) occurs in `value` once serialized. */
export function expectNoSecrets(value: unknown, secrets?: string[]): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const list: [string, string][] = secrets ? secrets.map((s) => [s, 'a secret of this test']) : [...registered];
  const found = findSecrets(text, `${text.slice(0, 200)}...`, list);
  if (found.length) throw new Error(`secret leaked: ${found.join('; ')}`);
}

/** Global teardown: every line of every log file of the run, against every secret registered in the run. */
export function scanRunLogs(runDir: string): string[] {
  const secretsFile = join(runDir, SECRETS_FILE);
  const secrets = new Map<string, string>(
    existsSync(secretsFile)
      ? readFileSync(secretsFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const { value, label } = JSON.parse(line) as { value: string; label: string };
            return [value, label] as [string, string];
          })
      : [],
  );
  const logs = join(runDir, 'logs');
  const found: string[] = [];
  if (!existsSync(logs)) return found;
  for (const file of readdirSync(logs).sort()) {
    readFileSync(join(logs, file), 'utf8')
      .split('\n')
      .forEach((line, i) => found.push(...findSecrets(line, `line ${i + 1} of ${file} (${join(logs, file)})`, secrets)));
  }
  return found;
}

/** How many secrets the run registered (the teardown says so, so a scan of nothing shows). */
export function countRunSecrets(runDir: string): number {
  const secretsFile = join(runDir, SECRETS_FILE);
  return existsSync(secretsFile) ? readFileSync(secretsFile, 'utf8').split('\n').filter(Boolean).length : 0;
}
