// Where the headless service keeps secrets (the registry key, runtime API keys): a 0600 JSON file in
// its private data folder, or LLMSTACK_REGISTRY_KEY for the registry key in CI. Never logged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { KeyStore } from '../app/registry/host';
import { KEY_SECRET } from '../app/registry/host';

const fileSchema = z.record(z.string(), z.string());

export class FileKeyStore implements KeyStore {
  private readonly file: string;

  constructor(
    dataDir: string,
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {
    this.file = path.join(dataDir, 'secrets.json');
  }

  /** The file as last read, by its modification time, size and inode: a read per gateway request costs one lstat. */
  private cache: { key: string; data: Record<string, string> } | undefined;

  private read(): Record<string, string> {
    let text: string;
    let key: string;
    try {
      const st = fs.lstatSync(this.file);
      if (!st.isFile()) throw new Error(`${this.file} is not a regular file; secrets are not read through links.`);
      key = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (this.cache?.key === key) return this.cache.data;
      if (process.platform !== 'win32' && st.mode & 0o077) fs.chmodSync(this.file, 0o600);
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.file} is not a JSON object of strings; fix or remove it (the registry key is in it).`);
    this.cache = { key, data: parsed.data };
    return parsed.data;
  }

  private write(data: Record<string, string>): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(data), { mode: 0o600 });
    fs.renameSync(temp, this.file);
    this.cache = undefined;
  }

  get(name: string): Promise<string | undefined> {
    if (name === KEY_SECRET && this.env.LLMSTACK_REGISTRY_KEY) return Promise.resolve(this.env.LLMSTACK_REGISTRY_KEY);
    return Promise.resolve(this.read()[name]);
  }

  set(name: string, value: string): Promise<void> {
    this.write({ ...this.read(), [name]: value });
    return Promise.resolve();
  }

  delete(name: string): Promise<void> {
    const data = this.read();
    delete data[name];
    this.write(data);
    return Promise.resolve();
  }
}
