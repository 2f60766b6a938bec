// The runtime test image: real llama.cpp (node-llama-cpp) in a container built from local files,
// loading a generated tiny GGUF model and generating tokens. The base for the runtime server tests.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LogDemuxer } from '../../../src/core/docker/actions';
import { engine, removeTestContainers, TEST_LABEL, uniqueName } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const IMAGE = 'llmstack-test/llama-smoke:1';

describe('llama.cpp runtime image (integration)', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-llama-'));

  before(() => {
    execFileSync('bash', [path.join(ROOT, 'test', 'runtime', 'build-image.sh'), path.join(ROOT, 'test', 'runtime', 'smoke'), IMAGE], { stdio: ['ignore', 'ignore', 'inherit'] });
  });
  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await removeTestContainers();
  });

  it('loads a generated GGUF model and generates tokens with real llama.cpp in a container', async () => {
    writeTinyGguf(path.join(dir, 'model.gguf'), { embedding: 64, layers: 2, contextLength: 512 });
    const docker = engine();
    const c = await docker.createContainer({
      name: uniqueName('llama-smoke'),
      Image: IMAGE,
      Labels: { [TEST_LABEL]: 'true' },
      HostConfig: { Binds: [`${dir}:/models:ro`], NetworkMode: 'none' },
    });
    await c.start();
    const result = await c.wait();
    const raw = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    let stdout = '';
    let stderr = '';
    new LogDemuxer((chunk) => (chunk.stream === 'stdout' ? (stdout += chunk.text) : (stderr += chunk.text))).push(raw);
    assert.equal(result.StatusCode, 0, `exit ${result.StatusCode}: ${stderr}`);
    const line = stdout.trim().split('\n').pop()!;
    const report = JSON.parse(line) as { ok: boolean; tokens: number; trainContextSize: number };
    assert.equal(report.ok, true);
    assert.ok(report.tokens > 0, 'generated at least one token');
    assert.equal(report.trainContextSize, 512, 'llama.cpp read the context length our GGUF writer set');
  });
});
