/** createConnectSession: POST /v1/connect-sessions — a one-time link to the hosted credentials page. */
import { HttpProblem } from '@patchbay/openapi-http';
import type { Handler } from '../../../http/handler.js';

export const createConnectSession: Handler<'createConnectSession'> = async ({ body }, { services, caller, acting, principal, req }) => {
  const base = services.config.publicUrl ?? `${req.protocol}://${req.get('host')}`;
  if (body.tenant === undefined) return { status: 201, body: await services.connectSessions.create(caller(), body, base) };
  // A new tenant with its session (Codat's "new company and connections"): a platform
  // principal's right only, with tenants:write as for createTenant, and outside any tenant.
  if (principal?.kind !== 'platform' || !principal.scopes.includes('tenants:write')) {
    throw new HttpProblem('forbidden', 'Creating a tenant with the session needs the tenants:write scope.', [{ pointer: '/tenant', message: 'needs a platform key with tenants:write' }], { required_scopes: ['tenants:write'] });
  }
  if (principal.tenantFromHeader) {
    throw new HttpProblem('validation_failed', 'A new tenant cannot be asked for inside the tenant X-Tenant-Id names.', [{ pointer: '/tenant', message: 'cannot be given with X-Tenant-Id; send one or the other' }]);
  }
  return { status: 201, body: await services.connectSessions.createWithTenant(acting(), services.tenants, body, base) };
};
