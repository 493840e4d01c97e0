/** The tenants feature's API objects, as the admin API's clients read them. */
import type { admin, Readable } from '@patchbay/api-types';

type AdminSchema<N extends keyof admin.components['schemas']> = Readable<admin.components['schemas'][N]>;

export type Scope = AdminSchema<'Scope'>;
export type ApiTenant = AdminSchema<'Tenant'>;
export type ApiKeyView = AdminSchema<'ApiKey'>;
