/** getReadiness: GET /readyz — 200 when every dependency answers, a 503 problem otherwise. */
import type { Handler } from '../../../http/handler.js';
import { DomainError } from '../../../platform/errors.js';

export const getReadiness: Handler<'getReadiness'> = async (_input, { services }) => {
  const results = await Promise.all(
    services.readinessChecks.map(async ({ name, check }) => [name, await check().catch(() => false)] as const),
  );
  const checks = Object.fromEntries(results.map(([name, ok]) => [name, ok ? ('ok' as const) : ('unavailable' as const)]));
  const down = results.filter(([, ok]) => !ok).map(([name]) => `${name}: unavailable`);
  if (down.length) throw new DomainError('not_ready', down.join(', '), { details: { checks } });
  return { status: 200, body: { status: 'ok', checks } };
};
