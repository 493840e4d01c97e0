/** The success reply of a connection operation: the connection, its ETag, and a Location when created. */
import type { ConnectionResult } from '../service.js';

export function connectionReply<S extends 200 | 201>(status: S, result: ConnectionResult) {
  const headers: Record<string, string> = { ETag: result.etag };
  if (status === 201) headers.Location = `/v1/connections/${result.connection.id}`;
  return { status, body: result.connection, headers };
}
