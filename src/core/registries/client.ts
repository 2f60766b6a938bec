// What a tag points to now, asked of the image's registry with the Docker Registry HTTP API v2 /
// OCI distribution spec: HEAD /v2/<name>/manifests/<tag> with the manifest types accepted, the
// digest from Docker-Content-Digest. A 401 is answered as the registry asks: a bearer token from
// the realm its WWW-Authenticate names (distribution docs/spec/auth/token.md), or basic auth, with
// the user's credentials where there are some. A multi-platform index is resolved to this
// platform's manifest too. Every request is bounded in time and every body in size; one check makes
// at most four requests; 401, 404, 429 and answers that are not a registry's get their own errors.
import { createHash } from 'node:crypto';
import { errorMessage } from '../lifecycle';
import type { ImageReference } from './reference';

type RegistryErrorKind = 'unauthorized' | 'not-found' | 'rate-limited' | 'protocol' | 'unreachable' | 'timeout';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    message: string,
    readonly kind: RegistryErrorKind,
    /** Seconds the registry asked to wait (429 Retry-After). */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface ResolvedTag {
  /** What the tag points to: an index for multi-platform images, else the manifest. */
  readonly digest: string;
  readonly mediaType: string;
  /** For an index: the manifest of this platform. */
  readonly platformDigest?: string;
  /** HTTP requests this check made. */
  readonly requests: number;
}

interface RegistryClientOptions {
  /** The user's credentials for a registry host (docker config, credential helpers). */
  readonly credentials?: (registry: string) => Promise<Credentials | undefined>;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
  /** The platform to resolve an index to (default this machine's, linux). */
  readonly platform?: { readonly os: string; readonly architecture: string };
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const INDEX_TYPES = new Set(MANIFEST_TYPES.slice(0, 2));
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const MAX_BODY = 4 * 1024 * 1024;
const MAX_TOKEN_BODY = 64 * 1024;

/** Node's arch names as the OCI image spec writes them. */
function ociArch(arch: string): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch;
}

/** Loopback registries speak plain HTTP (the engine treats 127.0.0.0/8 as insecure by default); the rest HTTPS. */
function baseUrl(registry: string): string {
  const host = registry.replace(/:\d+$/, '');
  return `${host === 'localhost' || host === '[::1]' || /^127\./.test(host) ? 'http' : 'https'}://${registry}`;
}

/** WWW-Authenticate: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)="([^"]*)"/g)) params[p[1].toLowerCase()] = p[2];
  return { scheme: m[1].toLowerCase(), params };
}

async function readBounded(res: Response, max: number, what: string): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new RegistryError(`${what}: the answer is larger than ${Math.round(max / 1024)} KiB; is that a registry?`, 'protocol');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class RegistryClient {
  private readonly timeoutMs: number;
  /** Bearer tokens by registry and repository, reused while they last (expires_in, else 60 s). */
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(private readonly o: RegistryClientOptions = {}) {
    this.timeoutMs = o.timeoutMs ?? 10_000;
  }

  async resolve(ref: ImageReference, signal?: AbortSignal): Promise<ResolvedTag> {
    const what = `Checking ${ref.registry}/${ref.repository}:${ref.tag ?? ref.digest}`;
    const base = baseUrl(ref.registry);
    const path = `/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag}`;
    let requests = 0;
    const send = async (method: 'HEAD' | 'GET', url: string, auth?: string): Promise<Response> => {
      requests++;
      try {
        return await fetch(url, {
          method,
          headers: { accept: MANIFEST_TYPES.join(', '), ...(auth ? { authorization: auth } : {}) },
          redirect: 'follow',
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        const err = e as Error & { cause?: { code?: string } };
        if (err.name === 'TimeoutError') throw new RegistryError(`${what}: ${ref.registry} did not answer within ${this.timeoutMs / 1000} s.`, 'timeout');
        throw new RegistryError(`${what}: cannot reach ${ref.registry} (${err.cause?.code ?? errorMessage(e)}).`, 'unreachable');
      }
    };
    const tokenKey = `${ref.registry}/${ref.repository}`;
    const cached = this.tokens.get(tokenKey);
    let auth = cached && cached.until > Date.now() ? `Bearer ${cached.token}` : undefined;
    let res = await send('HEAD', `${base}${path}`, auth);
    if (res.status === 401) {
      auth = await this.authorize(ref, res.headers.get('www-authenticate'), what, () => requests++);
      res = await send('HEAD', `${base}${path}`, auth);
    }
    this.check(res, what);
    let mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    let digest = res.headers.get('docker-content-digest') ?? undefined;
    let body: string | undefined;
    // No digest in the HEAD answer (some registries), or an index to resolve: the manifest itself.
    if (!digest || INDEX_TYPES.has(mediaType)) {
      const got = await send('GET', `${base}${path}`, auth);
      this.check(got, what);
      body = await readBounded(got, MAX_BODY, what);
      mediaType = (got.headers.get('content-type') ?? mediaType).split(';')[0].trim();
      digest ??= got.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
    }
    if (!DIGEST.test(digest)) throw new RegistryError(`${what}: ${ref.registry} answered with a digest that is not sha256:<64 hex digits> ("${digest.slice(0, 80)}"); is that a registry?`, 'protocol');
    if (!MANIFEST_TYPES.includes(mediaType)) throw new RegistryError(`${what}: ${ref.registry} answered "${mediaType || 'no content type'}", not an image manifest; is that a registry?`, 'protocol');
    let platformDigest: string | undefined;
    if (INDEX_TYPES.has(mediaType) && body !== undefined) platformDigest = this.platformOf(body, what);
    return { digest, mediaType, platformDigest, requests };
  }

  private platformOf(body: string, what: string): string | undefined {
    let index: unknown;
    try {
      index = JSON.parse(body);
    } catch {
      throw new RegistryError(`${what}: the image index is not JSON.`, 'protocol');
    }
    const manifests = (index as { manifests?: unknown }).manifests;
    if (!Array.isArray(manifests)) throw new RegistryError(`${what}: the image index lists no manifests.`, 'protocol');
    const want = this.o.platform ?? { os: 'linux', architecture: ociArch(process.arch) };
    const hit = manifests.find((m: { platform?: { os?: string; architecture?: string }; digest?: unknown }) => m?.platform?.os === want.os && m.platform.architecture === want.architecture && typeof m.digest === 'string' && DIGEST.test(m.digest)) as { digest: string } | undefined;
    return hit?.digest;
  }

  /** Turns a 401 into an Authorization header: a bearer token from the realm, or basic credentials. */
  private async authorize(ref: ImageReference, header: string | null, what: string, counted: () => void): Promise<string> {
    const challenge = parseChallenge(header);
    const creds = await this.o.credentials?.(ref.registry);
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (challenge?.scheme === 'basic') {
      if (!basic) throw new RegistryError(`${what}: ${ref.registry} wants a user name and password; log in with \`docker login ${ref.registry}\`.`, 'unauthorized');
      return basic;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) throw new RegistryError(`${what}: ${ref.registry} answered 401 without a challenge this client can follow.`, 'unauthorized');
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new RegistryError(`${what}: ${ref.registry} named a token realm that is not a URL.`, 'protocol');
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? `repository:${ref.repository}:pull`);
    counted();
    let res: Response;
    try {
      res = await fetch(realm, { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new RegistryError(`${what}: cannot reach the token service ${realm.host} (${errorMessage(e)}).`, 'unreachable');
    }
    if (res.status === 401 || res.status === 403) throw new RegistryError(`${what}: the token service of ${ref.registry} refused ${creds ? `the credentials of ${creds.username}` : 'an anonymous pull'} (HTTP ${res.status}).`, 'unauthorized');
    this.check(res, what);
    let data: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      data = JSON.parse(await readBounded(res, MAX_TOKEN_BODY, what)) as typeof data;
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw new RegistryError(`${what}: the token service of ${ref.registry} did not answer JSON.`, 'protocol');
    }
    const token = typeof data.token === 'string' ? data.token : typeof data.access_token === 'string' ? data.access_token : undefined;
    if (!token) throw new RegistryError(`${what}: the token service of ${ref.registry} gave no token.`, 'protocol');
    const ttl = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in : 60;
    this.tokens.set(`${ref.registry}/${ref.repository}`, { token, until: Date.now() + (ttl - 5) * 1000 });
    return `Bearer ${token}`;
  }

  private check(res: Response, what: string): void {
    if (res.ok) return;
    void res.body?.cancel().catch(() => undefined);
    if (res.status === 401 || res.status === 403) throw new RegistryError(`${what}: the registry refused access (HTTP ${res.status}); check \`docker login\` for it.`, 'unauthorized');
    if (res.status === 404) throw new RegistryError(`${what}: the registry has no such image or tag.`, 'not-found');
    if (res.status === 429) {
      const after = Number(res.headers.get('retry-after'));
      const retryAfterS = Number.isFinite(after) && after > 0 ? after : undefined;
      throw new RegistryError(`${what}: the registry's rate limit was reached${retryAfterS ? `; it asks to wait ${retryAfterS} s` : ''}. Checks are not retried before then.`, 'rate-limited', retryAfterS);
    }
    throw new RegistryError(`${what}: the registry answered HTTP ${res.status}.`, 'protocol');
  }
}

/**
 * Whether the registry's digest for a tag is one the local image already has: the engine records
 * the digests an image was pulled or pushed as in RepoDigests ("<name>@sha256:…").
 */
export function hasDigest(repoDigests: readonly string[], name: string, digest: string): boolean {
  return repoDigests.includes(`${name}@${digest}`);
}
