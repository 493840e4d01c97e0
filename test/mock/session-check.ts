/** Node's half of the scripted session (session.ts runs in browsers too): its answers
 * against the spec. */
import { specViolations } from '../support/spec-schema.js';
import type { Transcript } from './session.js';

/** What in a transcript breaks the spec or leaks a secret the session sent. */
export const violationsOf = (transcript: Transcript): string[] => [
  ...transcript.violations,
  ...transcript.answers.flatMap((a) => specViolations(a.operationId, a.status, a.json, a.type).map((v) => `${a.step}: ${v}`)),
];
