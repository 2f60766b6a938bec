// The muted containers, kept in the service's data folder (alerts.json, 0600) so that a mute made
// in one window, the CLI or the API holds everywhere and after a restart. A damaged file is
// reported and read as "nothing muted"; it is replaced at the next change.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MuteEntry } from '../core/docker/alerts';
import { errorMessage, type Logger } from '../core/lifecycle';

function file(dataDir: string): string {
  return path.join(dataDir, 'alerts.json');
}

export function loadMutes(dataDir: string, log: Logger): MuteEntry[] {
  let text: string;
  try {
    const st = fs.lstatSync(file(dataDir));
    if (!st.isFile() || st.size > 1024 * 1024) {
      log.warn(`${file(dataDir)} is not a regular file under 1 MiB; no container is muted.`);
      return [];
    }
    text = fs.readFileSync(file(dataDir), 'utf8');
  } catch {
    return [];
  }
  try {
    const parsed = (JSON.parse(text) as { mutes?: unknown }).mutes;
    if (!Array.isArray(parsed)) throw new Error('no "mutes" list');
    return parsed
      .filter((m): m is MuteEntry => !!m && typeof (m as MuteEntry).id === 'string' && ((m as MuteEntry).until === undefined || typeof (m as MuteEntry).until === 'number'))
      .map((m) => (m.until === undefined ? { id: m.id } : { id: m.id, until: m.until }));
  } catch (e) {
    log.warn(`${file(dataDir)} could not be read (${errorMessage(e)}); no container is muted until the next change.`);
    return [];
  }
}

/** Written whole to a temporary file and renamed over the old one: never half a file. */
export function saveMutes(dataDir: string, mutes: readonly MuteEntry[], log: Logger): void {
  const target = file(dataDir);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, JSON.stringify({ mutes }, null, 2), { mode: 0o600 });
    fs.renameSync(temp, target);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    log.error(`Saving the muted containers to ${target} failed: ${errorMessage(e)}`);
  }
}
