// The door of the TCP listener: every request shows a Host the service answers to (no DNS
// rebinding), no browser Origin unless one is allowed (no page in a browser drives the stack), and
// a live token whose role covers the route (PERMISSIONS) and whose model list covers the models the
// request names, within the token's rate limits. What fails is refused before any work with the
// status that says why: 403 for a foreign Host or Origin or a role or model not allowed, 401 for a
// missing, unknown, expired or revoked token, 429 (with Retry-After) over a rate limit.
import type * as http from 'node:http';
import { allowed, PERMISSIONS, type Role } from './permissions';
import type { TokenStore } from './tokens';
import { RateLimiter, type Limits } from './rateLimits';

export class GuardError extends Error {
  constructor(
    readonly status: 401 | 403 | 429,
    readonly code: string,
    message: string,
    /** Seconds until a rate-limited request would pass (Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface Principal {
  readonly name: string;
  readonly role: Role;
  readonly models?: readonly string[];
  readonly limits?: Limits;
}

interface GuardOptions {
  readonly tokens: TokenStore;
  /** Host header values answered to, besides the listening address itself (host:port). */
  readonly hostNames: readonly string[];
  /** Browser origins allowed (exact, e.g. "http://localhost:3000"); none by default. */
  readonly origins: readonly string[];
  /** Routes answered without a token (Host and Origin still checked), as a viewer: GET /metrics by setting. */
  readonly open?: readonly string[];
}

export class TcpGuard {
  private hosts = new Set<string>();
  /** The tokens' rate limits (requests and model tokens a minute). */
  readonly limiter = new RateLimiter();

  constructor(private readonly options: GuardOptions) {}

  /** The address the listener got (its port may have been 0): Host must name it. */
  listening(host: string, port: number): void {
    const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
    const base = loopback ? ['127.0.0.1', 'localhost', '[::1]'] : [host.includes(':') ? `[${host}]` : host];
    this.hosts = new Set([...base.map((h) => `${h}:${port}`), ...this.options.hostNames.flatMap((n) => [n, `${n}:${port}`])].map((h) => h.toLowerCase()));
  }

  /** Checks the request's Host, Origin and token; `route` is its PERMISSIONS key when known. */
  admit(req: http.IncomingMessage, route: string | undefined): Principal {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host)) throw new GuardError(403, 'bad_host', `This service does not answer to the Host "${host.slice(0, 200)}". Add the name to service.hostNames in config.json if it is yours.`);
    const origin = req.headers.origin;
    if (origin !== undefined && !this.options.origins.includes(origin)) throw new GuardError(403, 'origin_refused', `Requests from a browser page (Origin ${origin.slice(0, 200)}) are refused. Add the origin to service.allowedOrigins in config.json to allow it.`);
    if (route !== undefined && this.options.open?.includes(route) && !req.headers.authorization) return { name: 'anonymous', role: 'viewer' };
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
    const check = this.options.tokens.check(bearer);
    if (!check.ok) {
      const why = { missing: 'No token: send Authorization: Bearer <token> (llmstack token create makes one).', unknown: 'The token is not known.', expired: 'The token has expired.', revoked: 'The token was revoked.' }[check.reason];
      throw new GuardError(401, 'unauthorized', why);
    }
    if (route !== undefined && !allowed(check.role, route)) throw new GuardError(403, 'forbidden', `The token "${check.name}" (${check.role}) may not call ${route}: it needs ${PERMISSIONS[route] ?? 'a route that exists'}.`);
    const over = this.limiter.admit(check.name, check.limits, route === 'POST /runtimes/*');
    if (over) throw new GuardError(429, 'rate_limited', `The token "${check.name}" is over its limit of ${over.limit}; try again in ${over.retryAfter} s.`, over.retryAfter);
    return { name: check.name, role: check.role, models: check.models, limits: check.limits };
  }

  /** Refuses a request naming a model outside the token's list (models.* routes). */
  checkModels(who: Principal, route: string, input: unknown): void {
    if (!who.models || !route.startsWith('models.')) return;
    const named = modelsNamed(input);
    const allowedModels = who.models;
    const outside = named.filter((n) => !allowedModels.includes(n) && !allowedModels.includes(n.replace(/:latest$/, '')));
    if (outside.length) throw new GuardError(403, 'model_not_allowed', `The token "${who.name}" may not use ${outside.join(', ')}; it may use ${allowedModels.join(', ')}.`);
  }
}

/** The model names a models.* input carries: name, names[], models[].name. */
function modelsNamed(input: unknown): string[] {
  if (!input || typeof input !== 'object') return [];
  const o = input as { name?: unknown; names?: unknown; models?: unknown };
  const out: string[] = [];
  if (typeof o.name === 'string') out.push(o.name);
  if (Array.isArray(o.names)) for (const n of o.names) if (typeof n === 'string') out.push(n);
  if (Array.isArray(o.models)) for (const m of o.models) if (m && typeof (m as { name?: unknown }).name === 'string') out.push((m as { name: string }).name);
  return out;
}
