// Starts the test runtime (Ollama API over real llama.cpp, built by test/runtime/build-image.sh)
// in a labelled container, published on 127.0.0.1 only, with a models folder and a model source.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engine, TEST_LABEL, type TestContainers, uniqueName, waitUntil } from './engine';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const RUNTIME_IMAGE = 'llmstack-test/runtime:1';

let imageReady = false;

/**
 * Makes sure RUNTIME_IMAGE holds the current server: build-image.sh rebuilds only when its inputs
 * changed (and removes the image it replaces), and this process asks it once.
 */
export function buildRuntimeImage(): void {
  if (imageReady) return;
  execFileSync('bash', [path.join(ROOT, 'test', 'runtime', 'build-image.sh'), path.join(ROOT, 'test', 'runtime', 'server'), RUNTIME_IMAGE], { stdio: ['ignore', 'ignore', 'inherit'] });
  imageReady = true;
}

export async function startRuntime(dir: string, env: string[] = [], own?: TestContainers): Promise<{ base: string; id: string }> {
  fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
  const c = await engine().createContainer({
    name: uniqueName('runtime'),
    Image: RUNTIME_IMAGE,
    Env: env,
    Labels: { [TEST_LABEL]: 'true', 'io.llmstack.runtime': 'ollama' },
    ExposedPorts: { '11434/tcp': {} },
    HostConfig: {
      Binds: [`${path.join(dir, 'models')}:/models`, `${path.join(dir, 'source')}:/source:ro`],
      PortBindings: { '11434/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
  });
  // Remembered before anything can fail, so that the suite removes it in any case.
  own?.add(c.id);
  await c.start();
  const port = (await c.inspect()).NetworkSettings.Ports['11434/tcp']![0].HostPort;
  const base = `http://127.0.0.1:${port}`;
  // With API_KEY set every route but the public ones wants the key, /api/version included.
  const key = env.find((e) => e.startsWith('API_KEY='))?.slice('API_KEY='.length).split(',')[0];
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  await waitUntil('the runtime to answer', async () => (await fetch(`${base}/api/version`, { headers, signal: AbortSignal.timeout(2000) })).ok, 60_000, 200);
  return { base, id: c.id };
}
