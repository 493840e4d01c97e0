/** createTenant: POST /admin/v1/tenants */
import type { Handler } from '../../../http/handler.js';

export const createTenant: Handler<'createTenant'> = async ({ body }, { services, acting }) => {
  const tenant = await services.tenants.createTenant(acting(), body.name);
  return { status: 201, body: tenant, headers: { Location: `/admin/v1/tenants/${tenant.id}` } };
};
