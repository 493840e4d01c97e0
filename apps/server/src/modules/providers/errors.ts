/** The expected failures of the provider catalog. */
import { DomainError } from '../../platform/errors.js';

export const providerNotFound = (slug: string) => new DomainError('not_found', `No provider with slug '${slug}'.`);
