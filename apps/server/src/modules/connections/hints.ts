/**
 * Which credential fields may show a hint of their value (`last4`) in a connection's
 * credentials summary: only those the provider's credentials_schema marks
 * `x-patchbay-hint: last4` (decision 0027), and only for a value long enough that the hint
 * leaves most of it hidden. Applied when a summary is written, and again when one is read,
 * so a summary stored under an older catalog never shows a hint the catalog now withholds.
 */
import type { CredentialSummary } from './types.js';

/** A value shorter than this gets no hint: with 12 characters or more, 4 shown leave at least
 * two thirds of it hidden. The marked fields are provider-issued keys far longer than this (a
 * Stripe key is ~100 characters); the floor guards a short value entered in a marked field. */
export const HINT_MIN_LENGTH = 12;

/** The hint a summary carries for one value. */
export function last4Of(value: string, hinted: boolean): string | null {
  return hinted && value.length >= HINT_MIN_LENGTH ? value.slice(-4) : null;
}

/** The summary as a response may show it: `last4` kept only on the fields in `hinted`. The
 * same object when nothing is withheld (the usual case: nothing is copied). */
export function withAllowedHints(summary: CredentialSummary, hinted: ReadonlySet<string>): CredentialSummary {
  let allowed: CredentialSummary | undefined;
  for (const [name, field] of Object.entries(summary)) {
    if (field.last4 === null || hinted.has(name)) continue;
    allowed ??= { ...summary };
    allowed[name] = { ...field, last4: null };
  }
  return allowed ?? summary;
}
