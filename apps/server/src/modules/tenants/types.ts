/** The tenants feature's API objects, as the admin API's clients read them. */
import type { admin, Readable } from '@patchbay/api-types';

type AdminSchema<N extends keyof admin.components['schemas']> = Readable<admin.components['schemas'][N]>;

export type Scope = AdminSchema<'Scope'>;
export type PlatformKeyScope = AdminSchema<'PlatformKey'>['scopes'][number];
export type ApiTenant = AdminSchema<'Tenant'>;
export type ApiKeyView = AdminSchema<'ApiKey'>;
export type ApiKeyCreatedView = AdminSchema<'ApiKeyCreated'>;
export type ApiKeyRotatedView = AdminSchema<'ApiKeyRotated'>;
export type PlatformKeyView = AdminSchema<'PlatformKey'>;
export type PlatformKeyCreatedView = AdminSchema<'PlatformKeyCreated'>;
export type PlatformKeyRotatedView = AdminSchema<'PlatformKeyRotated'>;
