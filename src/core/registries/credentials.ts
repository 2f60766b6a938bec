// The user's registry credentials, where the Docker CLI keeps them: `$DOCKER_CONFIG/config.json`
// (default `~/.docker/config.json`): a credential helper for the host (`credHelpers`), else the
// default store (`credsStore`), else `auths` (base64 "user:password", as `docker login` writes it
// without a store). Helpers are run as the Docker CLI runs them (docker/docker-credential-helpers
// client/client.go): `docker-credential-<name> get`, the server URL on stdin, JSON
// {"Username","Secret"} on stdout; without a shell, bounded in time and output. Nothing is cached
// or written here; a credential never reaches a log.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface CredentialOptions {
  /** The folder of config.json (default $DOCKER_CONFIG, else ~/.docker). */
  readonly configDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Bound on a helper's run (default 5 s). */
  readonly helperTimeoutMs?: number;
}

const DOCKER_HUB = 'registry-1.docker.io';
/** The key the Docker CLI files Docker Hub's login under. */
const HUB_KEY = 'https://index.docker.io/v1/';
const HELPER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_CONFIG = 1024 * 1024;
const MAX_HELPER_OUTPUT = 64 * 1024;

function readConfig(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, 'config.json');
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_CONFIG) return undefined;
    const data: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function runHelper(name: string, server: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Credentials | undefined> {
  if (!HELPER_NAME.test(name)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let out = '';
    let done = false;
    const finish = (c: Credentials | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(c);
    };
    const child = spawn(`docker-credential-${name}`, ['get'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(undefined);
    }, timeoutMs);
    child.on('error', () => finish(undefined));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.length > MAX_HELPER_OUTPUT) child.kill('SIGKILL');
    });
    child.on('close', (code) => {
      if (code !== 0 || out.length > MAX_HELPER_OUTPUT) return finish(undefined);
      try {
        const j = JSON.parse(out) as { Username?: unknown; Secret?: unknown };
        finish(typeof j.Username === 'string' && typeof j.Secret === 'string' && j.Secret ? { username: j.Username, password: j.Secret } : undefined);
      } catch {
        finish(undefined);
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(server);
  });
}

/** The credentials the Docker CLI would use for a registry host, or undefined. */
export async function dockerCredentials(registry: string, o: CredentialOptions = {}): Promise<Credentials | undefined> {
  const env = o.env ?? process.env;
  const dir = o.configDir ?? env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  const config = readConfig(dir);
  if (!config) return undefined;
  const key = registry === DOCKER_HUB ? HUB_KEY : registry;
  const helpers = config.credHelpers && typeof config.credHelpers === 'object' ? (config.credHelpers as Record<string, unknown>) : {};
  const helper = typeof helpers[key] === 'string' ? helpers[key] : typeof config.credsStore === 'string' ? config.credsStore : undefined;
  if (typeof helper === 'string') {
    const fromHelper = await runHelper(helper, key, env, o.helperTimeoutMs ?? 5000);
    if (fromHelper) return fromHelper;
  }
  const auths = config.auths && typeof config.auths === 'object' ? (config.auths as Record<string, { auth?: unknown; username?: unknown; password?: unknown }>) : {};
  const entry = auths[key] ?? auths[`https://${key}`] ?? auths[`http://${key}`];
  if (!entry) return undefined;
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  if (typeof entry.auth !== 'string') return undefined;
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  return colon > 0 ? { username: plain.slice(0, colon), password: plain.slice(colon + 1) } : undefined;
}
