// What dockerode rejects with: the HTTP status and the engine's JSON message. One reading of it for
// every caller (actions, stack plan/apply, Swarm).
import { errorMessage } from '../lifecycle';

export interface EngineError {
  statusCode?: number;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
  code?: string;
}

/** The engine's own words for an error (its JSON message), else the error's. */
export function engineMessage(e: unknown): string {
  const err = e as EngineError | undefined;
  // dockerode rejects with plain objects too: their `message` counts as much as an Error's.
  return (err?.json?.message ?? err?.reason ?? (typeof err?.message === 'string' ? err.message : errorMessage(e))).trim();
}
