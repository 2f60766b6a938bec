// Resolves which container engine to talk to, in the order the Docker CLI uses:
// explicit host (our setting) → DOCKER_HOST → current Docker context → default sockets.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { DockerOptions } from 'dockerode';
import { z } from 'zod';

export type EndpointSource = 'setting' | 'DOCKER_HOST' | 'context' | 'default';

export interface Endpoint {
  /** The host URL as the user would write it: unix:///var/run/docker.sock, tcp://127.0.0.1:2376 … */
  readonly url: string;
  readonly source: EndpointSource;
  /** Human text for where this endpoint came from, e.g. "Docker context \"colima\"". */
  readonly origin: string;
  readonly tls: boolean;
  /** Options for dockerode / docker-modem. */
  readonly options: DockerOptions;
  /** For socket endpoints: the path, so a missing file can be reported without a request. */
  readonly socketPath?: string;
}

export interface EndpointResolution {
  readonly candidates: Endpoint[];
  /** Problems found while resolving (bad setting, unreadable context, missing certs). */
  readonly problems: string[];
}

export interface ResolveInput {
  readonly settingHost?: string;
  readonly settingCertPath?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
  readonly platform: NodeJS.Platform;
  readonly uid?: number;
  /** Returns the file's text, or undefined when it does not exist or cannot be read. */
  readonly readFile: (file: string) => string | undefined;
}

export class EndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointError';
  }
}

interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Parses a DOCKER_HOST-style URL into dockerode options. Throws EndpointError with advice. */
export function parseHost(url: string, tls?: TlsFiles & { verify?: boolean }): { options: DockerOptions; socketPath?: string } {
  const raw = url.trim();
  if (!raw) throw new EndpointError('The Docker host is empty.');
  const m = /^([a-z]+):\/\/(.*)$/i.exec(raw);
  if (!m) {
    throw new EndpointError(
      `"${raw}" is not a Docker host URL. Use unix:///path/to/docker.sock, tcp://host:port, npipe:////./pipe/docker_engine or ssh://user@host.`,
    );
  }
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  switch (scheme) {
    case 'unix': {
      if (!rest.startsWith('/')) throw new EndpointError(`"${raw}": a unix socket path must be absolute (unix:///var/run/docker.sock).`);
      return { options: { socketPath: rest }, socketPath: rest };
    }
    case 'npipe': {
      // npipe:////./pipe/docker_engine → //./pipe/docker_engine
      const pipe = rest.replace(/\//g, '\\').replace(/^\\{2,}/, '\\\\');
      if (!/^\\\\\.\\pipe\\.+/.test(pipe)) throw new EndpointError(`"${raw}" is not a named pipe (npipe:////./pipe/docker_engine).`);
      return { options: { socketPath: pipe }, socketPath: pipe };
    }
    case 'tcp':
    case 'http':
    case 'https': {
      let u: URL;
      try {
        u = new URL(`http://${rest}`);
      } catch {
        throw new EndpointError(`"${raw}" has no valid host:port.`);
      }
      if (!u.hostname) throw new EndpointError(`"${raw}" has no host name.`);
      // Asked-for TLS stays TLS even when no cert file could be read: never fall back to plain http.
      const useTls = scheme === 'https' || !!(tls && (tls.verify || tls.ca || tls.cert || tls.key));
      // URL drops a port that is http's default, so an explicit :80 is read from the text.
      const explicit80 = !u.port && /^[^/?#]*:0*80(?:[/?#]|$)/.test(rest);
      const port = u.port ? Number(u.port) : explicit80 ? 80 : useTls ? 2376 : 2375;
      const options: DockerOptions = {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port,
        protocol: useTls ? 'https' : 'http',
      };
      if (useTls && tls) {
        if (tls.ca) options.ca = tls.ca;
        if (tls.cert) options.cert = tls.cert;
        if (tls.key) options.key = tls.key;
      }
      return { options };
    }
    case 'ssh': {
      let u: URL;
      try {
        u = new URL(`ssh://${rest}`);
      } catch {
        throw new EndpointError(`"${raw}" is not a valid ssh:// host.`);
      }
      return {
        options: {
          protocol: 'ssh',
          host: u.hostname,
          port: u.port ? Number(u.port) : 22,
          username: u.username || undefined,
        } as DockerOptions,
      };
    }
    default:
      throw new EndpointError(`"${raw}": the scheme "${scheme}" is not supported (use unix, tcp, npipe or ssh).`);
  }
}

function readTls(dir: string, readFile: ResolveInput['readFile'], problems: string[], what: string): TlsFiles {
  const files: TlsFiles = {
    ca: readFile(path.join(dir, 'ca.pem')),
    cert: readFile(path.join(dir, 'cert.pem')),
    key: readFile(path.join(dir, 'key.pem')),
  };
  const missing = (['ca', 'cert', 'key'] as const).filter((k) => !files[k]).map((k) => `${k}.pem`);
  if (missing.length) problems.push(`${what}: ${missing.join(', ')} not found in ${dir}.`);
  return files;
}

const dockerConfigSchema = z.looseObject({ currentContext: z.string().optional() });
const contextMetaSchema = z.looseObject({
  Name: z.string(),
  Endpoints: z.looseObject({
    docker: z.looseObject({ Host: z.string(), SkipTLSVerify: z.boolean().optional() }).optional(),
  }),
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The endpoint of the current Docker context, or undefined for the "default" context. */
function contextEndpoint(input: ResolveInput, problems: string[]): Endpoint | undefined {
  const configDir = input.env.DOCKER_CONFIG || path.join(input.homedir, '.docker');
  let name = input.env.DOCKER_CONTEXT;
  let origin = 'DOCKER_CONTEXT';
  if (!name) {
    const text = input.readFile(path.join(configDir, 'config.json'));
    if (text === undefined) return undefined;
    const parsed = dockerConfigSchema.safeParse(parseJson(text));
    if (!parsed.success) {
      problems.push(`${path.join(configDir, 'config.json')} is not valid JSON; its current context was ignored.`);
      return undefined;
    }
    name = parsed.data.currentContext;
    origin = 'current Docker context';
  }
  if (!name || name === 'default') return undefined;
  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = path.join(configDir, 'contexts', 'meta', id, 'meta.json');
  const metaText = input.readFile(metaFile);
  if (metaText === undefined) {
    problems.push(`Docker context "${name}" (${origin}) has no ${metaFile}; run \`docker context ls\` to check it.`);
    return undefined;
  }
  const meta = contextMetaSchema.safeParse(parseJson(metaText));
  const host = meta.success ? meta.data.Endpoints.docker?.Host : undefined;
  if (!host) {
    problems.push(`Docker context "${name}" has no docker endpoint in ${metaFile}.`);
    return undefined;
  }
  const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
  const tlsFiles: TlsFiles = {
    ca: input.readFile(path.join(tlsDir, 'ca.pem')),
    cert: input.readFile(path.join(tlsDir, 'cert.pem')),
    key: input.readFile(path.join(tlsDir, 'key.pem')),
  };
  try {
    const parsed = parseHost(host, tlsFiles);
    return { url: host, source: 'context', origin: `Docker context "${name}"`, tls: parsed.options.protocol === 'https', ...parsed };
  } catch (e) {
    problems.push(`Docker context "${name}": ${(e as Error).message}`);
    return undefined;
  }
}

function defaultSockets(input: ResolveInput): Endpoint[] {
  if (input.platform === 'win32') {
    return [
      ['npipe:////./pipe/docker_engine', 'Docker Engine / Docker Desktop'],
      ['npipe:////./pipe/podman-machine-default', 'Podman machine'],
    ].map(([url, origin]) => ({ url, source: 'default' as const, origin, tls: false, ...parseHost(url) }));
  }
  const list: [string, string][] = [['/var/run/docker.sock', 'Docker Engine']];
  list.push([path.join(input.homedir, '.docker', 'run', 'docker.sock'), 'Docker Desktop']);
  if (input.platform === 'linux') {
    list.push([path.join(input.homedir, '.docker', 'desktop', 'docker.sock'), 'Docker Desktop']);
    const runtimeDir = input.env.XDG_RUNTIME_DIR || (input.uid !== undefined ? `/run/user/${input.uid}` : undefined);
    if (runtimeDir && input.uid !== 0) list.push([path.join(runtimeDir, 'podman', 'podman.sock'), 'Podman (rootless)']);
    list.push(['/run/podman/podman.sock', 'Podman (rootful)']);
  } else if (input.platform === 'darwin') {
    list.push([path.join(input.homedir, '.colima', 'default', 'docker.sock'), 'Colima']);
    list.push([path.join(input.homedir, '.local', 'share', 'containers', 'podman', 'machine', 'podman.sock'), 'Podman machine']);
  }
  const seen = new Set<string>();
  return list
    .filter(([p]) => (seen.has(p) ? false : (seen.add(p), true)))
    .map(([p, origin]) => ({ url: `unix://${p}`, source: 'default' as const, origin, tls: false, ...parseHost(`unix://${p}`) }));
}

/**
 * Lists the endpoints to try, first match wins. An explicit choice (setting, DOCKER_HOST, a
 * non-default context) is the only candidate, as with the Docker CLI: silently talking to another
 * engine than the one the user named would be worse than failing.
 */
export function resolveEndpoints(input: ResolveInput): EndpointResolution {
  const problems: string[] = [];
  const setting = input.settingHost?.trim();
  if (setting) {
    try {
      const tls = input.settingCertPath?.trim()
        ? { ...readTls(input.settingCertPath.trim(), input.readFile, problems, 'llmStack.docker.tlsCertPath'), verify: true }
        : undefined;
      const parsed = parseHost(setting, tls);
      return { candidates: [{ url: setting, source: 'setting', origin: 'setting llmStack.docker.host', tls: parsed.options.protocol === 'https', ...parsed }], problems };
    } catch (e) {
      problems.push(`Setting llmStack.docker.host: ${(e as Error).message} Fix it in Settings or clear it to use the defaults.`);
      return { candidates: [], problems };
    }
  }
  const envHost = input.env.DOCKER_HOST?.trim();
  if (envHost) {
    try {
      const verify = !!input.env.DOCKER_TLS_VERIFY && input.env.DOCKER_TLS_VERIFY !== '0';
      const tls = verify
        ? { ...readTls(input.env.DOCKER_CERT_PATH || path.join(input.homedir, '.docker'), input.readFile, problems, 'DOCKER_TLS_VERIFY'), verify: true }
        : undefined;
      const parsed = parseHost(envHost, tls);
      return { candidates: [{ url: envHost, source: 'DOCKER_HOST', origin: 'environment variable DOCKER_HOST', tls: parsed.options.protocol === 'https', ...parsed }], problems };
    } catch (e) {
      problems.push(`DOCKER_HOST: ${(e as Error).message}`);
      return { candidates: [], problems };
    }
  }
  const ctx = contextEndpoint(input, problems);
  if (ctx) return { candidates: [ctx], problems };
  return { candidates: defaultSockets(input), problems };
}
