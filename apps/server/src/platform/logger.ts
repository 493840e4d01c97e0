/** Structured logs (pino). Secrets are redacted by path as a second line of defence:
 * the first is that no code logs a header, a body or a credential value at all. */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  '*.headers["x-api-key"]',
  '*.headers.authorization',
  '*.credentials',
  '*.password',
  '*.secret',
  '*.token',
  'credentials',
];

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'patchbay' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}
