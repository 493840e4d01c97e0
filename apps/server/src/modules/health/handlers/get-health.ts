/** getHealth: GET /healthz — the process is alive; nothing else is checked. */
import type { Handler } from '../../../http/handler.js';

export const getHealth: Handler<'getHealth'> = () => ({ status: 200, body: { status: 'ok' } });
