/** Spectral's OWASP API Security Top 10 ruleset on every bundle (specs/scripts/owasp.mjs, run by
 * `pnpm lint`; decision 0023): the workspace's bundles pass with no error, and on a copy of
 * them with one bound, one rate-limit header, one CORS header and the https server broken, the
 * check fails naming each rule. Two Spectral runs (about 6 s each). */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { specsDir } from '../support/paths.js';
import { runCommand } from '../support/workspace-copy.js';

const owasp = join(specsDir, 'scripts', 'owasp.mjs');

describe('the OWASP ruleset on the bundles', () => {
  it('passes on the specs as they are: 0 errors', async ({ expect }) => {
    const result = await runCommand(process.execPath, [owasp], { timeoutMs: 90_000 });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/dist\/connections\.json, dist\/admin\.json: 0 errors/);
  }, 120_000);

  it('fails naming the rule when a string loses its bound, a response its RateLimit or CORS header, or the production server its https', async ({ expect }) => {
    const dir = await mkdtemp(join(tmpdir(), 'patchbay-owasp-'));
    try {
      await mkdir(join(dir, 'lint'));
      await cp(join(specsDir, 'lint', 'owasp.spectral.yaml'), join(dir, 'lint', 'owasp.spectral.yaml'));
      await cp(join(specsDir, 'dist'), join(dir, 'dist'), { recursive: true });
      const file = join(dir, 'dist', 'connections.json');
      const doc = JSON.parse(await readFile(file, 'utf8'));
      delete doc.components.schemas.Connection.properties.provider.maxLength;
      const headers = doc.paths['/v1/providers/{slug}'].get.responses['200'].headers;
      delete headers.RateLimit;
      delete headers['Access-Control-Allow-Origin'];
      doc.servers[1].url = doc.servers[1].url.replace('https:', 'http:');
      await writeFile(file, JSON.stringify(doc, null, 2));

      const result = await runCommand(process.execPath, [owasp, dir], { timeoutMs: 90_000 });
      expect(result.code, result.output).toBe(1);
      for (const rule of ['owasp:api4:2023-string-limit', 'owasp:api4:2023-rate-limit', 'owasp:api8:2023-define-cors-origin', 'owasp:api8:2023-no-server-http']) {
        expect(result.output, rule).toContain(rule);
      }
      expect(result.output).toMatch(/owasp: 4 error\(s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
