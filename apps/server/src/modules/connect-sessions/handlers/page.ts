/**
 * The hosted connect page (issue 14) at /connect/{token}: served by Patchbay itself, no build
 * step, nothing from another host, no script at all (the browser's own form checks from the
 * schema: required, types, lengths). A form generated from each slot's provider: labels from
 * titles, help from descriptions, input types from formats, credentials masked, required
 * marks; the server's field errors next to their fields. Several slots are steps of ONE
 * form, posted together and completed in one transaction (a category slot first gets its
 * provider picked by a GET form); no secret is ever held between steps. The POST carries the
 * page's form token (CSRF: bound to the session and to the page view); completion shows a
 * success page whose link leads back to return_url with the session and connection ids.
 * Themed by the session's branding: name, logo (img-src names its allow-listed origin only),
 * accent colour (in the nonce'd style sheet).
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
button,.button{background:var(--accent);color:var(--on-accent);text-decoration:none;display:inline-block;border:0;border-radius:4px;padding:.6rem 1.2rem;font:inherit;cursor:pointer}
button:focus,.button:focus,input:focus,select:focus{outline:3px solid var(--accent);outline-offset:2px}.alert{border:1px solid #b00020;padding:.5rem 1rem;border-radius:4px}
header{display:flex;align-items:center;gap:.75rem;margin:0 0 .5rem}header img{max-height:48px;max-width:12rem}header p{margin:0;font-weight:600}
.set{color:#2d6a2d;font-size:.9rem;margin:.2rem 0 0}.steps{padding-left:1.2rem}`;

/** The page's theme: the session's branding, checked at create (accent #rrggbb; logo on the allow-list). */
export interface PageTheme {
  name?: string;
  logo_url?: string;
  accent_color?: string;
}

const DEFAULT_ACCENT = '#2451c9';

/** Black or white, whichever contrasts more with `hex` (WCAG relative luminance). */
function onAccent(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  return (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? '#000000' : '#ffffff';
}

const ACCENT = /^#[0-9a-fA-F]{6}$/;

function page(res: Response, status: number, title: string, body: string, theme: PageTheme = {}): void {
  const nonce = randomBytes(16).toString('base64');
  // The accent is a checked #rrggbb: it goes into the nonce'd style sheet, never a style attribute.
  const accent = theme.accent_color !== undefined && ACCENT.test(theme.accent_color) ? theme.accent_color : DEFAULT_ACCENT;
  const logoOrigin = theme.logo_url !== undefined && URL.canParse(theme.logo_url) ? new URL(theme.logo_url).origin : undefined;
  res.setHeader(
    'Content-Security-Policy',
    [
      `default-src 'none'`,
      `style-src 'nonce-${nonce}'`,
      // The logo's origin only (on the tenant's allow-list, checked at create), else no image at all.
      ...(logoOrigin ? [`img-src ${logoOrigin}`] : []),
      `form-action 'self'`,
      `frame-ancestors 'none'`,
      `base-uri 'none'`,
    ].join('; '),
  );
  // The token is in the URL: never sent on to another site.
  res.setHeader('Referrer-Policy', 'no-referrer');
  const header =
    theme.name || logoOrigin
      ? `<header>${logoOrigin ? `<img src="${esc(theme.logo_url)}" alt="${esc(theme.name ? `${theme.name} logo` : 'Logo')}" height="48">` : ''}${theme.name ? `<p>${esc(theme.name)}</p>` : ''}</header>`
      : '';
  res.status(status).type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style nonce="${nonce}">:root{--accent:${accent};--on-accent:${onAccent(accent)}}
${STYLE}</style></head>
<body><main>${header}${body}</main></body></html>`);
}

function refusalPage(res: Response, reason: LinkRefusal, theme?: PageTheme): void {
  const r = REFUSALS[reason];
  page(res, r.status, r.title, `<h1>${esc(r.title)}</h1><p>${esc(r.text)}</p><p>Nothing was changed.</p>`, theme);
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

function fieldHtml(slot: number, group: 'c' | 's', name: string, schema: JsonSchema, required: boolean, value: unknown, errors: string[], isSet?: boolean): string {
  const secret = group === 'c';
  const kind = inputFor(schema, secret);
  if (!kind) return '';
  const id = `s${slot}-${group}-${name}`;
  const inputName = `s${slot}.${group}.${name}`;
  const described = [isSet === undefined ? '' : `${id}-set`, schema.description ? `${id}-help` : '', errors.length ? `${id}-error` : ''].filter(Boolean).join(' ');
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
  const error = errors.length ? `<p class="error" id="${id}-error">${esc([...new Set(errors.map((e) => endUserMessage(e, secret)))].join(' '))}</p>` : '';
  // Re-authorising: whether the field is set now (as the credentials summary says), never its value.
  const state = isSet === undefined ? '' : `<p class="${isSet ? 'set' : 'help'}" id="${id}-set">${isSet ? 'Set now; enter a new value to replace it.' : 'Not set now.'}</p>`;
  return `<div class="field"><label for="${id}">${esc(labelOf(name, schema))}${mark}</label>${control}${state}${help}${error}</div>`;
}

/** The validator's wording is for developers ("must match pattern \"^sk_…\""); the person on
 * this page is an end user pasting a key, so each field error is said in their words, from
 * never quoting the value or the pattern. Anything not recognised is shown as it was said. */
export function endUserMessage(message: string, secret: boolean): string {
  let m: RegExpExecArray | null;
  if (message === 'is required') return 'This field is required.';
  if (message.startsWith('must match pattern')) {
    return secret ? 'This does not look like the right value: check that you copied all of it, with nothing extra.' : 'This is not in the expected format.';
  }
  if ((m = /^must NOT have fewer than (\d+) characters$/.exec(message))) return `Enter at least ${m[1]} characters.`;
  if ((m = /^must NOT have more than (\d+) characters$/.exec(message))) return `Enter at most ${m[1]} characters.`;
  if ((m = /^must be >= (\S+)$/.exec(message))) return `Enter ${m[1]} or more.`;
  if ((m = /^must be <= (\S+)$/.exec(message))) return `Enter ${m[1]} or less.`;
  if (message === 'must be integer') return 'Enter a whole number.';
  if (message === 'must be number') return 'Enter a number.';
  if (message === 'must be equal to one of the allowed values') return 'Choose one of the options.';
  if (message === 'must match format "uri"' || message === 'must match format "url"') return 'Enter a full web address, starting with https://.';
  if (message === 'must match format "email"') return 'Enter an email address.';
  return message;
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

/** The provider picker of a category slot: a GET form that keeps the picks made so far. */
function pickerHtml(slot: PageSlot, total: number, token: string, picks: (string | undefined)[]): string {
  const step = total > 1 ? `Step ${slot.index + 1} of ${total}: ` : '';
  const options = slot.choices.map((p) => `<option value="${esc(p.slug)}">${esc(p.name)}</option>`).join('');
  const kept = picks.map((pick, i) => (pick !== undefined && i !== slot.index ? `<input type="hidden" name="pick${i}" value="${esc(pick)}">` : '')).join('');
  return `<form method="get" action="/connect/${esc(token)}"><fieldset><legend>${esc(step)}Choose your provider</legend>${kept}
<div class="field"><label for="pick${slot.index}">Provider <span class="req" aria-hidden="true">*</span></label>
<select id="pick${slot.index}" name="pick${slot.index}" required aria-required="true">${options}</select></div></fieldset><button type="submit">Continue</button></form>`;
}

function slotHtml(slot: PageSlot, total: number, values: SlotSubmission | undefined, issues: FieldIssue[]): string {
  const step = total > 1 ? `Step ${slot.index + 1} of ${total}: ` : '';
  const provider: Provider = slot.provider!;
  const { fields, general } = issuesByField(issues);
  const credentials = provider.credentials_schema as JsonSchema;
  const settings = provider.settings_schema as JsonSchema;
  const setFields = slot.connectionId ? new Set(slot.setFields ?? []) : undefined;
  const credentialFields = Object.entries(credentials.properties ?? {}).map(([name, schema]) =>
    fieldHtml(slot.index, 'c', name, schema, (credentials.required ?? []).includes(name), undefined, fields.get(`c.${name}`) ?? [], setFields ? setFields.has(name) : undefined),
  );
  // Re-authorising changes the credentials only; the settings stay as they are.
  const settingFields = slot.connectionId
    ? []
    : Object.entries(settings.properties ?? {}).map(([name, schema]) =>
        fieldHtml(slot.index, 's', name, schema, (settings.required ?? []).includes(name), values?.settings[name] ?? slot.settings[name], fields.get(`s.${name}`) ?? []),
      );
  const generalHtml = general.length ? `<div class="alert" role="alert"><p>${general.map(esc).join('<br>')}</p></div>` : '';
  const note = slot.connectionId ? '<p>This connection exists: enter its credentials again to replace the stored ones, which are never shown. Its settings stay as they are.</p>' : '';
  return `<fieldset><legend>${esc(step)}${esc(slot.connectionId ? `Re-authorise ${provider.name}` : provider.name)}</legend>${note}${generalHtml}
<input type="hidden" name="s${slot.index}.provider" value="${esc(provider.slug)}">
${credentialFields.join('\n')}${settingFields.length ? `\n${settingFields.join('\n')}` : ''}</fieldset>`;
}

const themeOf = (session: OpenedSession['session']): PageTheme => session.branding ?? {};

function formPage(res: Response, token: string, opened: OpenedSession, submitted: SlotSubmission[] = [], bySlot: Map<number, FieldIssue[]> = new Map(), status = 200): void {
  const { session, slots, formToken } = opened;
  const who = session.end_user.display_name ?? '';
  const count = [...bySlot.values()].reduce((n, issues) => n + issues.length, 0);
  const summary = count ? `<div class="alert" role="alert" tabindex="-1"><p>${count} ${count === 1 ? 'field needs' : 'fields need'} your attention. Nothing was saved.</p></div>` : '';
  const picking = slots.find((s) => !s.provider);
  let body: string;
  if (picking) {
    // A category slot first gets its provider picked (a GET of the page with the pick); the
    // form of every slot follows once each slot has its provider.
    const picks = slots.map((s) => (s.choices.length && s.provider ? s.provider.slug : undefined));
    const steps = slots.map((s) => `<li>${esc(s.provider ? s.provider.name : s === picking ? 'Choose your provider (now)' : 'Choose your provider')}</li>`).join('');
    body = `${slots.length > 1 ? `<p>The steps of this link:</p><ol class="steps">${steps}</ol>` : ''}${pickerHtml(picking, slots.length, token, picks)}`;
  } else {
    body = `<form method="post" action="/connect/${esc(token)}">
<input type="hidden" name="form_token" value="${esc(formToken)}">
${slots.map((slot) => slotHtml(slot, slots.length, submitted[slot.index], bySlot.get(slot.index) ?? [])).join('\n')}
<button type="submit">Connect</button></form>`;
  }
  const asker = session.branding?.name ? `${esc(session.branding.name)} asks you to connect ${slots.length > 1 ? 'these accounts' : 'an account'}. ` : '';
  page(
    res,
    status,
    'Connect your account',
    `<h1>Connect your account</h1><p>${asker}${who ? `For ${esc(who)}. ` : ''}Your credentials go straight to Patchbay over this page; ${session.branding?.name ? esc(session.branding.name) : 'the service that sent you here'} never sees them.</p>${summary}${body}
<p class="help">This link works once, until ${esc(new Date(session.expires_at).toUTCString())}.</p>`,
    themeOf(session),
  );
}

/** Done: says so, names what was connected, and leads back to return_url with the ids. */
function successPage(res: Response, session: OpenedSession['session'], providers: string[]): void {
  const target = new URL(session.return_url);
  target.searchParams.set('connect_session_id', session.id);
  target.searchParams.set('connection_ids', session.connection_ids.join(','));
  const back = session.branding?.name ?? target.host;
  page(
    res,
    200,
    'Connected',
    `<h1>Connected</h1><p role="status">${esc(providers.join(' and '))} ${providers.length > 1 ? 'are' : 'is'} connected. Nothing more is needed here.</p>
<p><a class="button" id="continue" href="${esc(target.toString())}">Continue to ${esc(back)}</a></p>`,
    themeOf(session),
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
        if (typeof result === 'string') return refusalPage(res, result, themeOf(preview.session));
        successPage(res, result, preview.slots.map((slot) => slot.provider?.name ?? slot.choices.find((p) => p.slug === submissions[slot.index]?.provider)?.name ?? 'Your account'));
      } catch (error) {
        if (error instanceof SubmissionRefused) {
          const reopened = await service.open(token, picks);
          if (typeof reopened === 'string') return refusalPage(res, reopened, themeOf(preview.session));
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
