/**
 * @patchbay/openapi-http: the request edge the server and the mock share. Both parse bodies,
 * validate requests against the bundled specs and answer errors with the same code, so a
 * frontend built against the mock sees exactly the problems the server will send.
 */
export { hostileMember, jsonBody, JSON_BODY_LIMIT, JSON_MAX_DEPTH } from './body.js';
export { cors, parseCorsOrigins, EXPOSED_HEADERS, type CorsOptions } from './cors.js';
export { notFound, problemResponder, writeProblem, type UnexpectedError } from './errors.js';
export { HttpProblem, PROBLEMS, validationProblem, type FieldError, type ProblemCode, type ProblemDocument } from './problem.js';
export { assignRequestId, newRequestId } from './request-id.js';
export { createValidators, loadApis, toPointer, validatorErrorToProblem, withoutAnnotations, type Authenticate, type LoadedApi, type ValidatorChain, type ValidatorOptions, type WarmUpReport } from './validation.js';
