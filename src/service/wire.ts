// The constants of the wire protocol, without zod: the CLI's client imports these, and the CLI
// starts faster without loading a schema library it does not need (the service checks requests).
/** Bumped when a route, a body or an event changes shape; a client of another protocol restarts the service or refuses. */
export const PROTOCOL = 2;

/** "models.pull" → "/v1/models/pull". */
export function routeOf(useCaseName: string): string {
  return `/v1/${useCaseName.split('.').join('/')}`;
}

export const NDJSON = 'application/x-ndjson';
