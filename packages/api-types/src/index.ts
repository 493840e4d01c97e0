/**
 * @patchbay/api-types: the types of Patchbay's APIs, generated from specs/ by
 * openapi-typescript, and friendly aliases keyed by operationId so that nobody indexes
 * `paths[...]` by hand:
 *
 *   RequestBody<'createConnection'>        what a caller sends (readOnly members removed)
 *   ResponseBody<'getConnection', 200>     what a caller reads (writeOnly members removed)
 *   PathParams<'getProvider'>, QueryParams<'listProviders'>, HeaderParams<...>
 *   ProviderCredentials['stripe'], ProviderSettings['stripe'], ProviderSlug   (the catalog)
 */
import type { AllOperations } from './generated/index.js';
import type { Readable, Writable } from './generated/connections.js';

export * from './generated/index.js';
export type { Readable, Writable } from './generated/connections.js';
/** The provider catalog's slugs, and each provider's credentials and settings as a request sends them. */
export type { ProviderCredentials, ProviderSettings, ProviderSlug } from './generated/providers.js';

/** The operationId of any operation of any API. */
export type OperationId = keyof AllOperations & string;
/** One operation's generated type. */
export type Operation<K extends OperationId> = AllOperations[K];

type ContentOf<T> = T extends { content: infer C } ? C[keyof C] : never;
type ParametersOf<K extends OperationId> = Operation<K> extends { parameters: infer P } ? P : never;

/** The request body of an operation, as a client writes it (readOnly members removed). */
export type RequestBody<K extends OperationId> = Operation<K> extends { requestBody?: infer B }
  ? Writable<ContentOf<NonNullable<B>>>
  : never;

/** The request body of an operation as the server receives it (markers removed, nothing dropped). */
export type ReceivedRequestBody<K extends OperationId> = Operation<K> extends { requestBody?: infer B }
  ? Unmarked<ContentOf<NonNullable<B>>>
  : never;

/** The statuses an operation documents. */
export type ResponseStatus<K extends OperationId> = keyof Operation<K>['responses'] & number;

/** The body of one documented response, as a client reads it (writeOnly members removed). */
export type ResponseBody<K extends OperationId, S extends ResponseStatus<K>> = Readable<ContentOf<Operation<K>['responses'][S]>>;

/** The 2xx statuses of an operation. */
export type SuccessStatus<K extends OperationId> = Extract<ResponseStatus<K>, 200 | 201 | 202 | 203 | 204 | 205 | 206>;

export type PathParams<K extends OperationId> = ParametersOf<K> extends { path?: infer P } ? NonNullable<P> : never;
export type QueryParams<K extends OperationId> = ParametersOf<K> extends { query?: infer Q } ? NonNullable<Q> : never;
export type HeaderParams<K extends OperationId> = ParametersOf<K> extends { header?: infer H } ? NonNullable<H> : never;

/** A generated type with its $Read/$Write markers removed. */
export type Unmarked<T> = T extends { readonly $read: infer U }
  ? Unmarked<U>
  : T extends { readonly $write: infer U }
    ? Unmarked<U>
    : T extends (infer E)[]
      ? Unmarked<E>[]
      : T extends object
        ? { [P in keyof T]: Unmarked<T[P]> }
        : T;

/** A named schema of the connections API, as a client reads it. */
export type ConnectionsSchema<N extends keyof import('./generated/connections.js').components['schemas']> = Readable<
  import('./generated/connections.js').components['schemas'][N]
>;
