// Finds the file behind a model that a runtime keeps in a container, so its integrity can be
// checked on this machine: the model's path from Ollama's Modelfile (`FROM /root/.ollama/models/
// blobs/sha256-…`), mapped through the container's bind mounts and volumes to a host path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

const mountSchema = z.looseObject({ Type: z.string().optional(), Source: z.string().optional(), Destination: z.string() });
const inspectMountsSchema = z.looseObject({ Mounts: z.array(mountSchema).nullish() });
type Mount = z.infer<typeof mountSchema>;

/** The absolute path of the first `FROM` line of a Modelfile, if it names a file. */
export function modelfileFrom(modelfile: string): string | undefined {
  for (const raw of modelfile.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^FROM\s+(.+)$/i.exec(line);
    if (m) {
      const target = m[1].trim().replace(/^"(.*)"$/, '$1');
      return target.startsWith('/') ? path.posix.normalize(target) : undefined;
    }
  }
  return undefined;
}

/** The host path of a path inside the container, through the mount with the longest matching destination. */
export function hostPathFor(containerPath: string, inspect: unknown): string | undefined {
  const parsed = inspectMountsSchema.safeParse(inspect);
  if (!parsed.success) return undefined;
  let best: Mount | undefined;
  for (const m of parsed.data.Mounts ?? []) {
    if (!m.Source || (m.Type && m.Type !== 'bind' && m.Type !== 'volume')) continue;
    const dest = m.Destination.replace(/\/+$/, '') || '/';
    const inside = containerPath === dest || containerPath.startsWith(dest === '/' ? '/' : `${dest}/`);
    if (inside && (!best || dest.length > best.Destination.replace(/\/+$/, '').length)) best = m;
  }
  if (!best) return undefined;
  const rel = path.posix.relative(best.Destination.replace(/\/+$/, '') || '/', containerPath);
  if (rel.startsWith('..')) return undefined;
  return path.join(best.Source!, ...rel.split('/').filter(Boolean));
}

export type ModelFileLookup = { file: string } | { reason: string };

/**
 * Where the model's file is on this machine, or why it cannot be reached here: not in a mount
 * (stored in the container's own layer), or the engine is on another machine.
 */
export function locateModelFile(modelfile: string | undefined, inspect: unknown): ModelFileLookup {
  const from = modelfileFrom(modelfile ?? '');
  if (!from) return { reason: 'the runtime does not say which file holds it' };
  const host = hostPathFor(from, inspect);
  if (!host) return { reason: `its file ${from} is inside the container, not in a mounted folder or volume` };
  if (!fs.existsSync(host)) return { reason: `its file is mounted from ${host}, which is not on this machine (is the engine remote?) or not readable` };
  return { file: host };
}
