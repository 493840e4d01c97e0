/** createTenant: POST /admin/v1/tenants */
import type { Handler } from '../../../http/handler.js';
import type { ApiTenant } from '../types.js';

export const createTenant: Handler<'createTenant'> = async ({ body }, { services, acting }) => {
  const reply = (tenant: ApiTenant) => ({ status: 201 as const, body: tenant, headers: { Location: `/admin/v1/tenants/${tenant.id}` } });
  return reply(await services.tenants.createTenant(acting(reply), body.name));
};
