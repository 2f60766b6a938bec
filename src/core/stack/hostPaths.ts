// The host paths a stack's containers get (bind mounts, devices) and which of them hand a container
// control of this machine or its credentials (the engine socket, `/`, /etc, ~/.ssh, …).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DesiredService } from './containerSpec';
import { parseVolume } from './normalize';
import { services, type StackFile } from './schema';

/** One host path a service's container gets. */
export interface HostMount {
  readonly service: string;
  readonly kind: 'bind' | 'device';
  /** The host path, absolute (and, where it exists and a realpath was given, with links resolved). */
  readonly source: string;
  /** Where the container sees it. */
  readonly target: string;
  readonly readOnly: boolean;
  /** Why the path is sensitive; undefined for an ordinary path. */
  readonly warning?: string;
}

/** A sensitive host path of a service: what a plan, a dialog or validation warns about. */
interface HostPathWarning {
  readonly service: string;
  readonly path: string;
  readonly message: string;
}

/** "~/x" → home; "./x", "../x" → against the stack file's folder; absolute as is. */
export function resolveHostPath(source: string, stackDir: string, home = os.homedir()): string {
  if (source === '~') return home;
  if (source.startsWith('~/')) return path.join(home, source.slice(2));
  return path.resolve(stackDir, source);
}

/** The real path of a host path when it exists (links resolved, as the engine resolves them); else as given. */
export function realHostPath(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return p;
  }
}

const SOCKETS = new Set(['docker.sock', 'podman.sock', 'containerd.sock', 'crio.sock']);
const SYSTEM_DIRS = ['/etc', '/root', '/proc', '/sys', '/var/run', '/run', '/boot', '/dev'];
const HOME_DIRS = ['.ssh', '.aws', '.docker', '.kube', '.gnupg', '.config/gcloud', '.azure'];

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * Why a host path is sensitive, or undefined. A path is sensitive when it is an engine socket, lies
 * inside a system folder or a credentials folder of the home directory, or contains one (mounting
 * `/`, /var or the home directory hands over /var/run/docker.sock or ~/.ssh with it).
 */
export function sensitiveHostPath(p: string, home = os.homedir()): string | undefined {
  const n = path.posix.normalize(p.replace(/\\/g, '/')).replace(/(.)\/+$/, '$1');
  if (SOCKETS.has(path.posix.basename(n))) return `the container engine's socket: full control of the engine, which is root on this machine`;
  if (n === '/') return 'the whole host file system';
  const homeN = path.posix.normalize(home.replace(/\\/g, '/')).replace(/(.)\/+$/, '$1');
  const credentials = HOME_DIRS.map((d) => path.posix.join(homeN, d));
  if (n === homeN) return `the home folder, with its keys and credentials (${HOME_DIRS.map((d) => `~/${d}`).join(', ')})`;
  for (const c of credentials) if (within(n, c)) return `credentials (${c.replace(homeN, '~')})`;
  // The rest of the home folder is the user's own, even when the home is /root.
  if (within(n, homeN)) return undefined;
  for (const d of SYSTEM_DIRS) if (within(n, d)) return `a system folder (${d})`;
  const contained = [...SYSTEM_DIRS, ...credentials].filter((d) => within(d, n));
  if (contained.length) return `contains ${contained.map((d) => (d.startsWith(`${homeN}/`) ? d.replace(homeN, '~') : d)).join(', ')}`;
  return undefined;
}

interface HostMountOptions {
  /** Resolves links of paths that exist (realHostPath); default: paths as written. */
  readonly realpath?: (p: string) => string;
  readonly home?: string;
}

/** Every host path each desired container gets: its bind mounts and its devices, in service order. */
export function hostMounts(desired: readonly DesiredService[], o: HostMountOptions = {}): HostMount[] {
  const real = o.realpath ?? ((p: string) => p);
  const out: HostMount[] = [];
  const add = (service: string, kind: HostMount['kind'], source: string, target: string, readOnly: boolean) => {
    const resolved = real(source);
    const warning = sensitiveHostPath(resolved, o.home) ?? (resolved !== source ? sensitiveHostPath(source, o.home) : undefined);
    out.push({ service, kind, source: resolved, target, readOnly, ...(warning ? { warning } : {}) });
  };
  for (const d of desired) {
    const hc = d.create.HostConfig;
    for (const b of hc?.Binds ?? []) {
      // "<source>:<target>[:ro]": named volumes have no "/" in their source.
      const [source, target = '', opts = ''] = b.split(':');
      if (!source.startsWith('/')) continue;
      add(d.service, 'bind', source, target, opts.split(',').includes('ro'));
    }
    for (const m of hc?.Mounts ?? []) if (m.Type === 'bind' && m.Source) add(d.service, 'bind', m.Source, m.Target ?? '', !!m.ReadOnly);
    for (const dev of hc?.Devices ?? []) add(d.service, 'device', dev.PathOnHost, dev.PathInContainer || dev.PathOnHost, !(dev.CgroupPermissions ?? 'rwm').includes('w'));
  }
  return out;
}

/** The sensitive host paths among mounts, as warnings naming the service and the path. */
export function hostPathWarnings(mounts: readonly HostMount[]): HostPathWarning[] {
  return mounts
    .filter((m) => m.warning)
    .map((m) => ({ service: m.service, path: m.source, message: `${m.service}: ${m.kind === 'device' ? 'device' : 'bind mount'} ${m.source} is ${m.warning}${m.readOnly ? ' (read-only)' : ''}.` }));
}

/**
 * The sensitive host paths a stack file's services mount, straight from the file (what validation
 * can call without building containers): each bind source resolved as an apply resolves it.
 */
export function stackHostPathWarnings(file: StackFile, stackDir: string, o: HostMountOptions = {}): HostPathWarning[] {
  const real = o.realpath ?? ((p: string) => p);
  const mounts: HostMount[] = [];
  for (const entry of services(file)) {
    for (const spec of entry.spec.volumes ?? []) {
      const v = parseVolume(spec);
      if (v.kind !== 'bind') continue;
      const source = real(resolveHostPath(v.source, stackDir, o.home));
      const warning = sensitiveHostPath(source, o.home);
      mounts.push({ service: entry.name, kind: 'bind', source, target: v.target, readOnly: v.readOnly, ...(warning ? { warning } : {}) });
    }
  }
  return hostPathWarnings(mounts);
}
