/**
 * The bundled specs as JSON and YAML (/openapi/{api}.json|yaml) and the HTML reference
 * (/docs, /docs/{api}), rendered by Redoc 2 from those same bundles. Redoc's standalone
 * script is served from the package, so the page works with no internet (see
 * docs/decisions/0003-reference-docs-offline.md); test/docs/ checks that in a real browser.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Router } from 'express';
import YAML from 'yaml';
import { HttpProblem, type LoadedApi } from '@patchbay/openapi-http';
import { DOCS_CSP } from './security-headers.js';

const require = createRequire(import.meta.url);

// Redoc 2's sidebar footer shows Redocly's logo from its CDN, with no option to turn it off.
// Offline that request fails with a console error, and online it tells a third party who
// reads our docs; an empty inline image takes its place (the "API docs by Redocly" link stays;
// decision 0009).
const REDOCLY_CDN_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const LOCAL_LOGO = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";

// Starts Redoc on the spec its <script> element names. A file rather than an inline script, so
// the pages' Content-Security-Policy allows scripts from this origin only (DOCS_CSP).
const START_SCRIPT = `Redoc.init(document.currentScript.dataset.specUrl, { hideDownloadButton: false, expandResponses: '200,201', hideLoading: true, disableSearch: false }, document.getElementById('redoc'));\n`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(api: LoadedApi, apis: LoadedApi[]): string {
  const nav = apis
    .map((a) => `<a href="/docs/${a.name}"${a.name === api.name ? ' aria-current="page"' : ''}>${escapeHtml(a.document.info.title)}</a>`)
    .join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(api.document.info.title)} · Patchbay</title>
  <link rel="icon" href="data:,">
  <style>body{margin:0;font-family:system-ui,sans-serif}nav{padding:.5rem 1rem;border-bottom:1px solid #ddd;font-size:.9rem}nav a{color:#32329f}</style>
</head>
<body>
  <nav>${nav} · <a href="/openapi/${api.name}.json">${api.name}.json</a> · <a href="/openapi/${api.name}.yaml">${api.name}.yaml</a></nav>
  <div id="redoc"></div>
  <script src="/docs/assets/redoc.standalone.js"></script>
  <script src="/docs/assets/start.js" data-spec-url="/openapi/${api.name}.json"></script>
</body>
</html>`;
}

export function docsRouter(apis: LoadedApi[]): Router {
  const router = Router();
  const json = new Map(apis.map((a) => [a.name as string, JSON.stringify(a.document)]));
  // The YAML forms and Redoc's script are made on their first request, not at start: writing
  // the bundles as YAML took about a third of a second of every start (issue 13).
  const yamlCache = new Map<string, string>();
  const yaml = {
    get: (name: string): string | undefined => {
      const api = apis.find((a) => a.name === name);
      if (!api) return undefined;
      if (!yamlCache.has(name)) yamlCache.set(name, YAML.stringify(api.document, { aliasDuplicateObjects: false }));
      return yamlCache.get(name);
    },
  };
  const pages = new Map(apis.map((a) => [a.name as string, page(a, apis)]));
  let redocScript: string | undefined;

  router.get('/openapi/:file', (req, res, next) => {
    const match = /^([a-z0-9-]+)\.(json|yaml)$/.exec(req.params.file);
    const body = match && (match[2] === 'json' ? json : yaml).get(match[1]!);
    if (!match || body === undefined) return next(new HttpProblem('not_found', `No API document '${req.params.file}'; try ${[...json.keys()].map((n) => `${n}.json`).join(', ')}.`));
    res.type(match[2] === 'json' ? 'application/json' : 'application/yaml').setHeader('Cache-Control', 'no-cache').send(body);
  });
  router.get('/docs/assets/redoc.standalone.js', (_req, res) => {
    redocScript ??= readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'), 'utf8').replace(REDOCLY_CDN_LOGO, LOCAL_LOGO);
    res.type('text/javascript').setHeader('Cache-Control', 'public, max-age=86400').send(redocScript);
  });
  router.get('/docs/assets/start.js', (_req, res) => {
    res.type('text/javascript').setHeader('Cache-Control', 'no-cache').send(START_SCRIPT);
  });
  router.get(['/docs', '/docs/:api'], (req, res, next) => {
    const name = (req.params as { api?: string }).api ?? apis[0]!.name;
    const html = pages.get(name);
    if (html === undefined) return next(new HttpProblem('not_found', `No API named '${name}'.`));
    res.type('html').setHeader('Content-Security-Policy', DOCS_CSP).send(html);
  });
  return router;
}
