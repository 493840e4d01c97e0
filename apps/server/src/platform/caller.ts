/** Who a use case acts for: the actor the audit trail names, the request, its scopes, and the tenant. */
import type { Db } from './db/database.js';
import type { ActorRow } from './db/schema.js';

/**
 * A step of the request's own that must commit with the use case's change: the edge stores
 * an Idempotency-Key's reply there (decision 0020). A use case that writes calls it once,
 * last, inside its transaction, with what it returns and the connection it is about; a
 * failure of the step rolls the change back.
 */
export type BeforeCommit = (tx: Db, outcome: unknown, about?: { connectionId?: string }) => Promise<void>;

/** Who acts, in which request, with what rights: what the audit trail and the key use cases need. */
export interface Acting {
  actor: ActorRow;
  /** The server's own id of the request, never the client's: what the audit trail records. */
  serverRequestId: string;
  /** The X-Request-Id the client sent, if any: recorded apart from the server's id. */
  clientRequestId?: string | null;
  /** What the principal may do; a use case checks the field-level ones (credentials:write). */
  scopes: readonly string[];
  /** Set by the edge when the request's reply must commit with the change (an Idempotency-Key). */
  beforeCommit?: BeforeCommit;
}

export interface Caller extends Acting {
  tenantId: string;
  /** The request's id as echoed to the client (the client's own X-Request-Id when it sent a sane one). */
  requestId: string;
}
