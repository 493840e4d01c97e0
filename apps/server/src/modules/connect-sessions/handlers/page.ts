/**
 * The hosted connect page (issue 14) at /connect/{token}: served by Patchbay itself, no build
 * step, nothing from another host, no script at all (the browser's own form checks from the
 * schema: required, types, lengths). A form generated from each slot's provider: labels from
 * titles, help from descriptions, input types from formats, credentials masked, required
 * marks; the server's field errors next to their fields. The POST carries the page's form
 * token (CSRF: bound to the session and to the page view); completion redirects to return_url.
 */
import express, { type Request, type Response, Router } from 'express';
import { randomBytes } from 'node:crypto';
import { DomainError, type FieldIssue } from '../../../platform/errors.js';
import type { Provider } from '../../providers/catalog.js';
import { SubmissionRefused, type ConnectSessionsService, type LinkRefusal, type OpenedSession, type PageSlot, type SlotSubmission } from '../service.js';

interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  format?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  writeOnly?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

const esc = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const TOKEN = /^cst_[A-Za-z0-9_-]{43}$/;

const REFUSALS: Record<LinkRefusal, { status: number; title: string; text: string }> = {
  unknown: { status: 404, title: 'This link is not valid', text: 'Check that you copied the whole link, or ask for a new one.' },
  expired: { status: 410, title: 'This link has expired', text: 'Ask for a new link to connect your account.' },
  completed: { status: 410, title: 'This link has already been used', text: 'Your account was connected. A link works once; ask for a new one to connect again.' },
  cancelled: { status: 410, title: 'This link was cancelled', text: 'Ask for a new link to connect your account.' },
  stale_form: { status: 403, title: 'This form is out of date', text: 'The page was opened again since, or the form did not come from this page. Reload the link and submit again.' },
  in_progress: { status: 409, title: 'This link is being used', text: 'Another submission of this form is in progress. Reload the page in a moment.' },
};

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:34rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem}fieldset{border:1px solid #ccd;border-radius:6px;margin:0 0 1.5rem;padding:1rem}
legend{font-weight:600;padding:0 .3rem}.field{margin:0 0 1rem}label{display:block;font-weight:500}
input,select{box-sizing:border-box;width:100%;padding:.45rem;border:1px solid #99a;border-radius:4px;font:inherit}
input[type=checkbox]{width:auto}.help{color:#555;font-size:.9rem;margin:.2rem 0 0}
.req{color:#b00020}.error{color:#b00020;font-size:.9rem;margin:.2rem 0 0}[aria-invalid=true]{border-color:#b00020}
button{background:#2451c9;color:#fff;border:0;border-radius:4px;padding:.6rem 1.2rem;font:inherit;cursor:pointer}
button:focus,input:focus,select:focus{outline:3px solid #f2b600;outline-offset:1px}.alert{border:1px solid #b00020;padding:.5rem 1rem;border-radius:4px}`;

function page(res: Response, status: number, title: string, body: string, formOrigins: string[] = []): void {
  const nonce = randomBytes(16).toString('base64');
  res.setHeader(
    'Content-Security-Policy',
    [`default-src 'none'`, `style-src 'nonce-${nonce}'`, `form-action 'self'${formOrigins.map((o) => ` ${o}`).join('')}`, `frame-ancestors 'none'`, `base-uri 'none'`].join('; '),
  );
  // The token is in the URL: never sent on to another site.
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.status(status).type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body><main>${body}</main></body></html>`);
}

function refusalPage(res: Response, reason: LinkRefusal): void {
  const r = REFUSALS[reason];
  page(res, r.status, r.title, `<h1>${esc(r.title)}</h1><p>${esc(r.text)}</p><p>Nothing was changed.</p>`);
}

const typeOf = (schema: JsonSchema): string | undefined => (Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type);

/** Which input a schema property becomes; undefined when a form cannot edit it (objects, arrays). */
function inputFor(schema: JsonSchema, secret: boolean): string | undefined {
  const type = typeOf(schema);
  if (type === 'object' || type === 'array') return undefined;
  if (secret) return 'password';
  if (type === 'boolean') return 'checkbox';
  if (type === 'integer' || type === 'number') return 'number';
  if (schema.enum) return 'select';
  if (schema.format === 'uri' || schema.format === 'url') return 'url';
  if (schema.format === 'email') return 'email';
  return 'text';
}

const labelOf = (name: string, schema: JsonSchema): string => schema.title ?? name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

function fieldHtml(slot: number, group: 'c' | 's', name: string, schema: JsonSchema, required: boolean, value: unknown, errors: string[]): string {
  const secret = group === 'c';
  const kind = inputFor(schema, secret);
  if (!kind) return '';
  const id = `s${slot}-${group}-${name}`;
  const inputName = `s${slot}.${group}.${name}`;
  const described = [schema.description ? `${id}-help` : '', errors.length ? `${id}-error` : ''].filter(Boolean).join(' ');
  const common = `id="${id}" name="${esc(inputName)}"${required && kind !== 'checkbox' ? ' required aria-required="true"' : ''}${errors.length ? ' aria-invalid="true"' : ''}${described ? ` aria-describedby="${described}"` : ''}`;
  let control: string;
  if (kind === 'select') {
    const options = (schema.enum ?? []).map((v) => `<option value="${esc(v)}"${v === value ? ' selected' : ''}>${esc(v)}</option>`).join('');
    control = `<select ${common}>${required ? '' : '<option value=""></option>'}${options}</select>`;
  } else if (kind === 'checkbox') {
    control = `<input type="checkbox" ${common} value="true"${value === true ? ' checked' : ''}>`;
  } else {
    const limits = [
      schema.minLength !== undefined ? ` minlength="${schema.minLength}"` : '',
      schema.maxLength !== undefined ? ` maxlength="${schema.maxLength}"` : '',
      schema.minimum !== undefined ? ` min="${schema.minimum}"` : '',
      schema.maximum !== undefined ? ` max="${schema.maximum}"` : '',
      kind === 'number' && typeOf(schema) === 'integer' ? ' step="1"' : '',
    ].join('');
    // A secret is never shown back, not even the one just typed.
    const shown = secret || value === undefined || value === null ? '' : ` value="${esc(value)}"`;
    control = `<input type="${kind}" ${common}${limits}${shown} autocomplete="${secret ? 'new-password' : 'off'}" spellcheck="false">`;
  }
  const mark = required ? ' <span class="req" aria-hidden="true">*</span>' : '';
  const help = schema.description ? `<p class="help" id="${id}-help">${esc(schema.description)}</p>` : '';
  const error = errors.length ? `<p class="error" id="${id}-error">${esc(errors.join('; '))}</p>` : '';
  return `<div class="field"><label for="${id}">${esc(labelOf(name, schema))}${mark}</label>${control}${help}${error}</div>`;
}

/** Issues by field: `c.secret_key`, `s.bank_code`; the rest for the slot as a whole. */
function issuesByField(issues: FieldIssue[]): { fields: Map<string, string[]>; general: string[] } {
  const fields = new Map<string, string[]>();
  const general: string[] = [];
  for (const issue of issues) {
    const pointer = 'pointer' in issue ? issue.pointer : '';
    const match = /^\/(credentials|settings)\/([^/]+)/.exec(pointer);
    if (match) {
      const key = `${match[1] === 'credentials' ? 'c' : 's'}.${match[2]}`;
      fields.set(key, [...(fields.get(key) ?? []), issue.message]);
    } else general.push(`${pointer.replace(/^\//, '') || 'form'} ${issue.message}`);
  }
  return { fields, general };
}

function slotHtml(slot: PageSlot, total: number, values: SlotSubmission | undefined, issues: FieldIssue[], token: string): string {
  const step = total > 1 ? `Step ${slot.index + 1} of ${total}: ` : '';
  if (!slot.provider) {
    const options = slot.choices.map((p) => `<option value="${esc(p.slug)}">${esc(p.name)}</option>`).join('');
    return `<fieldset><legend>${esc(step)}Choose your provider</legend>
<form method="get" action="/connect/${esc(token)}"><div class="field"><label for="pick${slot.index}">Provider <span class="req" aria-hidden="true">*</span></label>
<select id="pick${slot.index}" name="pick${slot.index}" required aria-required="true">${options}</select></div><button type="submit">Continue</button></form></fieldset>`;
  }
  const provider: Provider = slot.provider;
  const { fields, general } = issuesByField(issues);
  const credentials = provider.credentials_schema as JsonSchema;
  const settings = provider.settings_schema as JsonSchema;
  const credentialFields = Object.entries(credentials.properties ?? {}).map(([name, schema]) =>
    fieldHtml(slot.index, 'c', name, schema, (credentials.required ?? []).includes(name), undefined, fields.get(`c.${name}`) ?? []),
  );
  // Re-authorising changes the credentials only; the settings stay as they are.
  const settingFields = slot.connectionId
    ? []
    : Object.entries(settings.properties ?? {}).map(([name, schema]) =>
        fieldHtml(slot.index, 's', name, schema, (settings.required ?? []).includes(name), values?.settings[name] ?? slot.settings[name], fields.get(`s.${name}`) ?? []),
      );
  const generalHtml = general.length ? `<div class="alert" role="alert"><p>${general.map(esc).join('<br>')}</p></div>` : '';
  const note = slot.connectionId ? '<p>Enter the new credentials; they replace the stored ones, which are never shown.</p>' : '';
  return `<fieldset><legend>${esc(step)}${esc(provider.name)}</legend>${note}${generalHtml}
<input type="hidden" name="s${slot.index}.provider" value="${esc(provider.slug)}">
${credentialFields.join('\n')}${settingFields.length ? `\n${settingFields.join('\n')}` : ''}</fieldset>`;
}

function formPage(res: Response, token: string, opened: OpenedSession, submitted: SlotSubmission[] = [], bySlot: Map<number, FieldIssue[]> = new Map(), status = 200): void {
  const { session, slots, formToken } = opened;
  const who = session.end_user.display_name ?? '';
  const count = [...bySlot.values()].reduce((n, issues) => n + issues.length, 0);
  const summary = count ? `<div class="alert" role="alert" tabindex="-1"><p>${count} ${count === 1 ? 'field needs' : 'fields need'} your attention. Nothing was saved.</p></div>` : '';
  const picking = slots.some((s) => !s.provider);
  const parts = slots.map((slot) => slotHtml(slot, slots.length, submitted[slot.index], bySlot.get(slot.index) ?? [], token));
  const body = picking
    ? parts.join('\n')
    : `<form method="post" action="/connect/${esc(token)}">
<input type="hidden" name="form_token" value="${esc(formToken)}">
${parts.join('\n')}
<button type="submit">Connect</button></form>`;
  page(
    res,
    status,
    'Connect your account',
    `<h1>Connect your account</h1>${who ? `<p>For ${esc(who)}. ` : '<p>'}Your credentials go straight to Patchbay over this page; the service that sent you here never sees them.</p>${summary}${body}
<p class="help">This link works once, until ${esc(new Date(session.expires_at).toUTCString())}.</p>`,
    [new URL(session.return_url).origin],
  );
}

/** The form's fields back into one submission per slot, typed by the provider's schemas. */
function submissionsOf(body: Record<string, unknown>, opened: OpenedSession): SlotSubmission[] {
  return opened.slots.map((slot) => {
    const provider = typeof body[`s${slot.index}.provider`] === 'string' ? (body[`s${slot.index}.provider`] as string) : undefined;
    const submission: SlotSubmission = { provider, credentials: {}, settings: {} };
    const schema = (slot.provider?.slug === provider ? slot.provider : slot.choices.find((p) => p.slug === provider))?.settings_schema as JsonSchema | undefined;
    for (const [key, raw] of Object.entries(body)) {
      const match = /^s(\d+)\.([cs])\.(.+)$/.exec(key);
      if (!match || Number(match[1]) !== slot.index || typeof raw !== 'string') continue;
      const name = match[3]!;
      if (match[2] === 'c') {
        if (raw !== '') submission.credentials[name] = raw;
        continue;
      }
      const type = typeOf(schema?.properties?.[name] ?? {});
      if (raw === '') continue;
      if (type === 'integer' || type === 'number') submission.settings[name] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
      else if (type === 'boolean') submission.settings[name] = raw === 'true';
      else submission.settings[name] = raw;
    }
    return submission;
  });
}

export function connectPage(service: ConnectSessionsService): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 500 });

  router.get('/connect/:token', async (req: Request, res: Response, next) => {
    try {
      const token = typeof req.params.token === 'string' ? req.params.token : '';
      if (!TOKEN.test(token)) return refusalPage(res, 'unknown');
      const picks = [0, 1, 2, 3, 4].map((i) => (typeof req.query[`pick${i}`] === 'string' ? (req.query[`pick${i}`] as string) : undefined));
      const opened = await service.open(token, picks);
      if (typeof opened === 'string') return refusalPage(res, opened);
      formPage(res, token, opened);
    } catch (error) {
      next(error);
    }
  });

  router.post('/connect/:token', form, async (req: Request, res: Response, next) => {
    try {
      const token = typeof req.params.token === 'string' ? req.params.token : '';
      if (!TOKEN.test(token)) return refusalPage(res, 'unknown');
      // A browser names the page's origin: a post from another site is refused (CSRF).
      const origin = req.get('origin');
      const host = req.get('host');
      if (origin !== undefined && origin !== 'null' && (!URL.canParse(origin) || new URL(origin).host !== host)) {
        return page(res, 403, 'Not allowed', '<h1>This form cannot be sent from another site</h1><p>Nothing was changed.</p>');
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const formToken = typeof body.form_token === 'string' ? body.form_token : '';
      const picks = [0, 1, 2, 3, 4].map((i) => (typeof body[`s${i}.provider`] === 'string' ? (body[`s${i}.provider`] as string) : undefined));
      // The slots as the page showed them, to read the form by (a fresh open would also replace the form token).
      const preview = await service.preview(token, picks);
      if (typeof preview === 'string') return refusalPage(res, preview);
      const submissions = submissionsOf(body, { ...preview, formToken });
      try {
        const result = await service.complete(token, formToken, submissions, { serverRequestId: req.serverRequestId, requestId: req.id });
        if (typeof result === 'string') return refusalPage(res, result);
        const target = new URL(result.return_url);
        target.searchParams.set('connect_session_id', result.id);
        target.searchParams.set('connection_ids', result.connection_ids.join(','));
        res.setHeader('Referrer-Policy', 'no-referrer');
        res.redirect(303, target.toString());
      } catch (error) {
        if (error instanceof SubmissionRefused) {
          const reopened = await service.open(token, picks);
          if (typeof reopened === 'string') return refusalPage(res, reopened);
          return formPage(res, token, reopened, submissions, error.bySlot, 422);
        }
        if (error instanceof DomainError) {
          return page(res, 422, 'Could not connect', `<h1>Could not connect</h1><p role="alert">${esc(error.message)}</p><p>Nothing was changed. <a href="/connect/${esc(token)}">Try again</a>.</p>`);
        }
        throw error;
      }
    } catch (error) {
      next(error);
    }
  });
  return router;
}
