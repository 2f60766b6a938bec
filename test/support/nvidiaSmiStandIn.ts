// Stand-in nvidia-smi scripts that print recorded CSV lines in a loop or fail as nvidia-smi fails.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface StandIn {
  readonly binary: string;
  /** One line per start: the arguments it was given. */
  starts(): string[];
  dispose(): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A script answering --query-gpu with gpuLines and --query-compute-apps with appLines, once per
 * tickSeconds (like -lms), for ever; or, with `exitCode`, printing the lines once and exiting.
 */
export function nvidiaSmiStandIn(o: { gpuLines?: readonly string[]; appLines?: readonly string[]; tickSeconds?: number; exitCode?: number; appsOnce?: boolean; stderr?: string }): StandIn {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-nvsmi-'));
  const log = path.join(dir, 'starts.log');
  const binary = path.join(dir, 'nvidia-smi');
  const print = (lines: readonly string[] = []) => lines.map((l) => `printf '%s\\n' ${quote(l)}`).join('\n    ') || ':';
  const tick = o.tickSeconds ?? 0.1;
  const loop = (body: string, once = false) =>
    o.exitCode !== undefined
      ? `${body}\n    ${o.stderr ? `printf '%s\\n' ${quote(o.stderr)} >&2` : ':'}\n    exit ${o.exitCode}`
      : once
        ? `${body}\n    while true; do sleep ${tick}; done`
        : `while true; do\n    ${body}\n    sleep ${tick}\n  done`;
  const script = `#!/bin/sh
echo "$*" >> ${quote(log)}
case "$1" in
  --query-gpu=*)
    ${loop(print(o.gpuLines))}
    ;;
  --query-compute-apps=*)
    ${loop(print(o.appLines), o.appsOnce)}
    ;;
esac
`;
  fs.writeFileSync(binary, script, { mode: 0o755 });
  return {
    binary,
    starts: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Whether a process id is still alive (a reaped child is not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
