/** Named schemas of the admin API, as a client reads them. */
import type { admin, Readable } from '@patchbay/api-types';

export type AdminSchema<N extends keyof admin.components['schemas']> = Readable<admin.components['schemas'][N]>;
