// A "runtime" that only lists: the GGUF model files in a folder the user named, with the metadata
// of each file's header, read once per file version.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatParameterCount, GgufError, readGgufInfo } from './gguf';
import { cancelledError } from './integrity';
import { baseCapabilities, type ModelRuntime, type RuntimeCapabilities, type RuntimeEndpoint, type RuntimeListing, type RuntimeModel } from './runtime';

interface GgufFolderOptions {
  /** Folder levels below the root that are searched (files in the root are level 0). */
  readonly maxDepth?: number;
  /** Directory entries examined in one scan; bounds the work when the setting names a huge tree such as home. */
  readonly maxEntries?: number;
}

interface GgufFolderListing extends RuntimeListing {
  /** True when the scan stopped at maxEntries and some files may be missing. */
  readonly truncated: boolean;
  /** Subfolders that could not be read, with the reason. */
  readonly skipped: readonly string[];
}

interface FileVersion {
  readonly size: number;
  readonly mtimeMs: number;
}

interface HeaderSummary {
  readonly architecture?: string;
  readonly parameterCount: number;
  readonly quantization?: string;
  readonly contextLength?: number;
}

interface CacheEntry extends FileVersion {
  readonly header?: HeaderSummary;
  readonly problem?: string;
}

interface FoundFile extends FileVersion {
  readonly abs: string;
  readonly rel: string;
}

const SPLIT = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

/** The folder as a person reads it: under home it starts with ~. */
function displayFolder(abs: string): string {
  const home = os.homedir();
  if (abs === home) return '~';
  if (abs.startsWith(home + path.sep)) return `~${path.sep}${abs.slice(home.length + 1)}`;
  return abs;
}

/** The endpoint for a folder from llmStack.models.ggufFolders; "~" means home. */
export function ggufFolderEndpoint(folder: string): RuntimeEndpoint {
  const expanded = expandHome(folder.trim());
  // The extension host's working directory means nothing to the user, so a relative path is refused, not resolved.
  if (!path.isAbsolute(expanded)) throw new Error(`GGUF folder "${folder}" is not an absolute path; fix llmStack.models.ggufFolders`);
  const abs = path.resolve(expanded);
  // The root and home have no telling basename.
  const name = abs === os.homedir() || !path.basename(abs) ? displayFolder(abs) : path.basename(abs);
  return { id: `gguf@${abs}`, kind: 'gguf', api: 'gguf', name, baseUrl: abs, source: 'folder' };
}

function problemOf(e: unknown): string {
  if (e instanceof GgufError) return e.message;
  return `Cannot read the header: ${(e as Error).message}`;
}

export class GgufFolderRuntime implements ModelRuntime {
  readonly capabilities: RuntimeCapabilities = baseCapabilities('gguf');
  readonly folder: string;
  private readonly maxDepth: number;
  private readonly maxEntries: number;
  private readonly cache = new Map<string, CacheEntry>();
  private reads = 0;

  constructor(
    readonly endpoint: RuntimeEndpoint,
    options: GgufFolderOptions = {},
  ) {
    if (endpoint.api !== 'gguf' || !path.isAbsolute(endpoint.baseUrl)) {
      throw new Error(`${endpoint.id} is not a GGUF folder endpoint (it needs api "gguf" and an absolute folder path).`);
    }
    this.folder = endpoint.baseUrl;
    this.maxDepth = options.maxDepth ?? 4;
    this.maxEntries = options.maxEntries ?? 5000;
  }

  /** File headers read since this runtime was made; a rescan of unchanged files leaves it as it was. */
  get headersRead(): number {
    return this.reads;
  }

  async list(signal?: AbortSignal): Promise<GgufFolderListing> {
    const { files, truncated, skipped } = await this.scan(signal);
    const seen = new Set<string>();
    const entries = new Map<string, CacheEntry>();
    for (const f of files) {
      if (signal?.aborted) throw cancelledError(`Listing ${this.folder}`);
      seen.add(f.abs);
      const cached = this.cache.get(f.abs);
      if (cached && cached.size === f.size && cached.mtimeMs === f.mtimeMs) {
        entries.set(f.abs, cached);
        continue;
      }
      const entry = await this.readHeader(f);
      this.cache.set(f.abs, entry);
      entries.set(f.abs, entry);
    }
    for (const key of [...this.cache.keys()]) if (!seen.has(key)) this.cache.delete(key);
    const models = this.toModels(files, entries);
    models.sort((a, b) => a.name.localeCompare(b.name));
    return { models, truncated, skipped };
  }

  private async readHeader(f: FoundFile): Promise<CacheEntry> {
    this.reads++;
    try {
      // The same bounded reader as for stack files: a file swapped for a FIFO after the scan is refused, not waited on.
      const info = await readGgufInfo(f.abs);
      return {
        size: f.size,
        mtimeMs: f.mtimeMs,
        header: { architecture: info.architecture, parameterCount: info.parameterCount, quantization: info.quantization, contextLength: info.contextLength },
      };
    } catch (e) {
      return { size: f.size, mtimeMs: f.mtimeMs, problem: problemOf(e) };
    }
  }

  private toModels(files: readonly FoundFile[], entries: ReadonlyMap<string, CacheEntry>): RuntimeModel[] {
    const models: RuntimeModel[] = [];
    const splits = new Map<string, { total: number; parts: Map<number, FoundFile> }>();
    for (const f of files) {
      const m = SPLIT.exec(f.abs);
      const total = m ? Number(m[3]) : 0;
      if (!m || total < 2) {
        models.push(model(f, entries.get(f.abs)!));
        continue;
      }
      const key = `${m[1]}\0${total}`;
      const group = splits.get(key) ?? { total, parts: new Map() };
      group.parts.set(Number(m[2]), f);
      splits.set(key, group);
    }
    for (const { total, parts } of splits.values()) {
      const numbers = [...parts.keys()].sort((a, b) => a - b);
      const first = parts.get(numbers[0])!;
      const missing: number[] = [];
      for (let i = 1; i <= total; i++) if (!parts.has(i)) missing.push(i);
      const all = numbers.map((n) => parts.get(n)!);
      const sizeBytes = all.reduce((s, f) => s + f.size, 0);
      const modifiedAt = Math.max(...all.map((f) => f.mtimeMs));
      const firstEntry = entries.get(first.abs)!;
      const broken = all.map((f) => entries.get(f.abs)!).find((e) => e.problem);
      if (missing.includes(1) || !firstEntry.header) {
        // Only the first part carries the model's metadata.
        const problem = missing.includes(1) ? `Part 1 of this ${total}-part model is missing.` : firstEntry.problem!;
        models.push({ name: first.rel, file: first.abs, sizeBytes, modifiedAt: Math.round(modifiedAt), format: 'gguf', problem });
        continue;
      }
      // Each part lists only its own tensors, so the model's parameter count is the sum over parts.
      const parameterCount = all.reduce((s, f) => s + (entries.get(f.abs)!.header?.parameterCount ?? 0), 0);
      const problem = missing.length
        ? `Part${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of this ${total}-part model ${missing.length > 1 ? 'are' : 'is'} missing.`
        : broken?.problem;
      models.push({ ...model(first, { ...firstEntry, header: { ...firstEntry.header, parameterCount } }), sizeBytes, modifiedAt: Math.round(modifiedAt), ...(problem ? { problem } : {}) });
    }
    return models;
  }

  private async scan(signal: AbortSignal | undefined): Promise<{ files: FoundFile[]; truncated: boolean; skipped: string[] }> {
    const root = this.folder;
    let rootReal: string;
    try {
      const st = await fs.promises.stat(root);
      if (!st.isDirectory()) throw new Error(`GGUF folder ${root} is a file, not a folder; fix llmStack.models.ggufFolders`);
      rootReal = await fs.promises.realpath(root);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new Error(`GGUF folder ${root} does not exist; fix llmStack.models.ggufFolders`);
      if (code === undefined) throw e;
      throw new Error(`Cannot read GGUF folder ${root}: ${(e as Error).message}`);
    }
    const files: FoundFile[] = [];
    const skipped: string[] = [];
    // Real paths of the folders entered, so a symlink back up the tree is entered once.
    const visited = new Set<string>([rootReal]);
    let examined = 0;
    let truncated = false;

    const walk = async (dir: string, depth: number): Promise<void> => {
      if (signal?.aborted) throw cancelledError(`Listing ${root}`);
      let dirents: fs.Dirent[];
      try {
        dirents = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (dir === root) throw new Error(`Cannot read GGUF folder ${root}: ${(e as Error).message}`);
        skipped.push(`${dir}: ${(e as Error).message}`);
        return;
      }
      dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const d of dirents) {
        if (examined >= this.maxEntries) {
          truncated = true;
          return;
        }
        examined++;
        const abs = path.join(dir, d.name);
        const isGguf = d.name.toLowerCase().endsWith('.gguf');
        let isDir = d.isDirectory();
        let isFile = d.isFile();
        if (d.isSymbolicLink() || (!isDir && !isFile)) {
          if (!isGguf && depth >= this.maxDepth) continue;
          try {
            const st = await fs.promises.stat(abs);
            isDir = st.isDirectory();
            isFile = st.isFile();
          } catch {
            // A dangling link named *.gguf is listed so the user sees why the model is unusable.
            if (isGguf) files.push({ abs, rel: rel(root, abs), size: 0, mtimeMs: 0 });
            continue;
          }
        }
        if (isDir) {
          if (d.name.startsWith('.') || depth >= this.maxDepth) continue;
          let real: string;
          try {
            real = await fs.promises.realpath(abs);
          } catch (e) {
            skipped.push(`${abs}: ${(e as Error).message}`);
            continue;
          }
          if (visited.has(real)) continue;
          visited.add(real);
          await walk(abs, depth + 1);
          if (truncated) return;
        } else if (isFile && isGguf) {
          try {
            const st = await fs.promises.stat(abs);
            files.push({ abs, rel: rel(root, abs), size: st.size, mtimeMs: st.mtimeMs });
          } catch {
            files.push({ abs, rel: rel(root, abs), size: 0, mtimeMs: 0 });
          }
        }
      }
    };
    await walk(root, 0);
    return { files, truncated, skipped };
  }
}

function rel(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

function model(f: FoundFile, entry: CacheEntry): RuntimeModel {
  const base = { name: f.rel, file: f.abs, sizeBytes: f.size, modifiedAt: Math.round(f.mtimeMs), format: 'gguf' };
  if (!entry.header) return { ...base, problem: entry.problem };
  const h = entry.header;
  return {
    ...base,
    family: h.architecture,
    parameterCount: h.parameterCount,
    parameterSize: h.parameterCount > 0 ? formatParameterCount(h.parameterCount) : undefined,
    quantization: h.quantization,
    contextLength: h.contextLength,
  };
}
