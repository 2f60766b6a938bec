// A real distribution registry for the tests: Debian's `docker-registry` (CNCF distribution 2.8),
// started on 127.0.0.1 with its own config and storage folder, stopped and removed after.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { freePort } from './net';
import { BUSYBOX, waitUntil } from './engine';

export interface TestRegistry {
  /** 127.0.0.1:<port>, as an image reference names it. */
  readonly host: string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-registry-'));
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${path.join(dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Waits for its exit: SIGTERM, and SIGKILL if it is still there 5 s later.
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(kill);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil('the registry to answer /v2/', async () => (await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.ok ?? false, 30_000, 100);
  } catch (e) {
    await stop();
    throw new Error(`docker-registry did not start: ${e instanceof Error ? e.message : String(e)}\n${stderr}`);
  }
  return { host, stop };
}

/** Builds FROM the busybox test image with one label (a new config, so a new manifest digest). */
/**
 * A registry for the calling describe(): started before its tests; after them, the images the
 * suite built (pushed into `images`) are removed from the engine and the registry stopped.
 * Register it after useEngine, whose containers must go before their images.
 */
export function useRegistry(docker: Docker): { readonly registry: TestRegistry; readonly images: string[] } {
  let registry: TestRegistry | undefined;
  const images: string[] = [];
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    for (const id of images.reverse()) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
    await registry?.stop();
  });
  return {
    images,
    get registry() {
      if (!registry) throw new Error('the registry fixture is used before its before() hook ran');
      return registry;
    },
  };
}

export async function buildLabelled(docker: Docker, tag: string, version: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-regbuild-'));
  try {
    fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nLABEL io.llmstack.test=true io.llmstack.test.version=${version}\n`);
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile'] }, { t: tag, labels: { 'io.llmstack.test': 'true' } });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => (err ? reject(err) : out.find((o) => o.error) ? reject(new Error(out.find((o) => o.error)!.error)) : resolve())));
    return (await docker.getImage(tag).inspect()).Id;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Pushes a tag and returns the digest the engine reports for it. */
export async function pushImage(docker: Docker, tag: string): Promise<string> {
  const stream = await docker.getImage(tag).push({ authconfig: {} });
  const out = await new Promise<{ error?: string; aux?: { Digest?: string } }[]>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, o: { error?: string; aux?: { Digest?: string } }[]) => (err ? reject(err) : resolve(o))));
  const failed = out.find((o) => o.error);
  if (failed) throw new Error(`push of ${tag} failed: ${failed.error}`);
  const digest = out.find((o) => o.aux?.Digest)?.aux?.Digest;
  if (!digest) throw new Error(`push of ${tag} gave no digest`);
  return digest;
}
