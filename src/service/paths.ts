// Where the per-user service keeps its socket, lock, log and data. One place decides, for the
// service, its clients and the tests (LLMSTACK_HOME puts everything in one folder).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ServicePaths {
  /** Private folder (0700) for the socket and the lock: its permissions authorise local clients. */
  readonly runDir: string;
  /** Where clients connect: a Unix socket, or a named pipe on Windows. */
  readonly socket: string;
  readonly lockFile: string;
  readonly logFile: string;
  /** The user's data (the registry, its backups, the key file), 0700. */
  readonly dataDir: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function userTag(): string {
  try {
    return String(os.userInfo().uid >= 0 ? os.userInfo().uid : os.userInfo().username);
  } catch {
    return 'user';
  }
}

/** The folders for this user (XDG on Linux, Application Support on macOS, LOCALAPPDATA on Windows). */
export function servicePaths(env: Env = process.env, platform: NodeJS.Platform = process.platform): ServicePaths {
  const home = env.LLMSTACK_HOME;
  const p = platform === 'win32' ? path.win32 : path.posix;
  let dataDir: string;
  let runDir: string;
  if (home) {
    dataDir = p.join(home, 'data');
    runDir = p.join(home, 'run');
  } else if (platform === 'win32') {
    dataDir = p.join(env.LOCALAPPDATA ?? p.join(os.homedir(), 'AppData', 'Local'), 'llmstack');
    runDir = dataDir;
  } else if (platform === 'darwin') {
    dataDir = p.join(os.homedir(), 'Library', 'Application Support', 'llmstack');
    runDir = p.join(dataDir, 'run');
  } else {
    dataDir = p.join(env.XDG_DATA_HOME || p.join(os.homedir(), '.local', 'share'), 'llmstack');
    runDir = env.XDG_RUNTIME_DIR ? p.join(env.XDG_RUNTIME_DIR, 'llmstack') : p.join(os.tmpdir(), `llmstack-${userTag()}`);
  }
  // A Unix socket path is limited to about 104 bytes; a named pipe lives in its own namespace.
  const socket = platform === 'win32' ? `\\\\.\\pipe\\llmstack-${userTag()}${home ? `-${Buffer.from(home).toString('hex').slice(-16)}` : ''}` : p.join(runDir, 'service.sock');
  return { runDir, socket, lockFile: p.join(runDir, 'service.lock'), logFile: p.join(dataDir, 'service.log'), dataDir };
}

/**
 * Creates `dir` (0700) or checks the one there: a real folder, ours, not open to group or others.
 * Refuses a symbolic link or a shared folder, since the folder's permissions are the authorisation.
 */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder (a symbolic link?): the service keeps its socket and data only in a private folder. Remove it, or set LLMSTACK_HOME.`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user (uid ${st.uid}): the service will not use it. Set LLMSTACK_HOME to a folder of yours.`);
  if (st.mode & 0o077) fs.chmodSync(dir, 0o700);
}
