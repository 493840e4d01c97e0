/** Structured logs (pino). Secrets are redacted by path as a second line of defence:
 * the first is that no code logs a header, a body or a credential value at all.
 *
 * Written to stdout asynchronously (decision 0028): a request never waits for its log line to
 * reach the pipe; lines written while one write is in flight are joined into the next. pino
 * flushes what is buffered synchronously when the process exits (process.exit, the end of the
 * event loop, an uncaught exception), and main.ts flushes before exiting on SIGTERM/SIGINT; a
 * process killed with SIGKILL may lose the lines still in the buffer. */
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
  return pino(
    {
      level,
      base: { service: 'patchbay' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}
