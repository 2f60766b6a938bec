// Starts a demo LLM runtime when the engine runs none, so a newcomer sees models at once: the
// test runtime image (Ollama API over real llama.cpp) with two tiny generated GGUF models, and a
// third one to pull. Published on 127.0.0.1 only. Run by scripts/start.sh; idempotent.
// A benchmark starts its own copy the same way: LLMSTACK_DEMO_NAME (container; one so named starts even
// when other runtimes run), LLMSTACK_DEMO_DIR (model folders), LLMSTACK_DEMO_PORT (0: any free port).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const NAME = process.env.LLMSTACK_DEMO_NAME || 'llmstack-demo';
const IMAGE = 'llmstack-test/runtime:1';
const DIR = process.env.LLMSTACK_DEMO_DIR || path.join(process.env.LLMSTACK_CACHE ?? path.join(os.homedir(), '.cache', 'llm-local-stack'), 'demo');

const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function runtimeContainers() {
  const out = docker('ps', '--format', '{{.Names}}\t{{.Image}}\t{{.Label "io.llmstack.runtime"}}');
  return out
    .split('\n')
    .filter(Boolean)
    .filter((l) => {
      const [, image, label] = l.split('\t');
      return !!label || /(^|\/)(ollama\/ollama|llama\.cpp|vllm-openai|text-generation-inference|local-?ai)(:|$)/.test(image);
    });
}

function main() {
  const running = process.env.LLMSTACK_DEMO_NAME ? [] : runtimeContainers().filter((l) => l.split('\t')[0] !== NAME);
  if (running.length) {
    console.log(`Runtime containers already run (${running.map((l) => l.split('\t')[0]).join(', ')}); no demo stack started.`);
    return;
  }
  // A no-op when the image is up to date; a demo made from an older image is replaced (its models stay in DIR).
  execFileSync('bash', [path.join(ROOT, 'test', 'runtime', 'build-image.sh'), path.join(ROOT, 'test', 'runtime', 'server'), IMAGE], { stdio: 'inherit' });
  if (docker('ps', '-a', '-q', '--filter', `name=^${NAME}$`)) {
    const old = docker('inspect', '-f', '{{.Image}}', NAME);
    if (old === docker('image', 'inspect', '-f', '{{.Id}}', IMAGE)) {
      docker('start', NAME);
      console.log(`Started the existing demo runtime ${NAME}.`);
      return;
    }
    console.log(`Replacing the demo runtime ${NAME}: the runtime image changed.`);
    docker('rm', '-f', NAME);
    try {
      if (docker('image', 'inspect', '-f', '{{len .RepoTags}}', old) === '0') docker('rmi', old);
    } catch {
      // Another container still uses the old image: it stays.
    }
  } else {
    console.log('No LLM runtime runs: starting a demo one (the test runtime image, real llama.cpp on tiny generated models).');
  }
  const { writeTinyGguf } = require(path.join(ROOT, 'out', 'test', 'support', 'gguf.js'));
  for (const d of ['models', 'source']) fs.mkdirSync(path.join(DIR, d), { recursive: true });
  const models = [
    ['models', 'tiny-llama__latest.gguf', { name: 'tiny-llama', embedding: 64, layers: 2 }],
    ['models', 'tiny-llama__q8.gguf', { name: 'tiny-llama q8', embedding: 128, layers: 2, seed: 7 }],
    ['source', 'tiny-chat__latest.gguf', { name: 'tiny-chat', embedding: 256, layers: 4, seed: 3 }],
  ];
  for (const [d, f, o] of models) if (!fs.existsSync(path.join(DIR, d, f))) writeTinyGguf(path.join(DIR, d, f), o);
  let port = process.env.LLMSTACK_DEMO_PORT ?? '11434';
  if (!process.env.LLMSTACK_DEMO_PORT && docker('ps', '--format', '{{.Ports}}').includes(`:${port}->`)) port = '11435';
  docker(
    'run', '-d', '--name', NAME,
    '--label', 'io.llmstack.runtime=ollama', '--label', 'io.llmstack.demo=true',
    '-p', `127.0.0.1:${port === '0' ? '' : port}:11434`,
    '-v', `${path.join(DIR, 'models')}:/models`, '-v', `${path.join(DIR, 'source')}:/source:ro`,
    IMAGE,
  );
  const url = `http://${docker('port', NAME, '11434/tcp').split('\n')[0]}`;
  console.log(`Demo runtime ${NAME} at ${url} (Ollama API): models tiny-llama:latest and tiny-llama:q8; pull tiny-chat to try a pull.`);
  console.log(`Remove it with: docker rm -f ${NAME}`);
}

try {
  main();
} catch (e) {
  console.error(`The demo runtime could not be started (${e.stderr?.toString().trim() || e.message}); the extension opens anyway.`);
  process.exitCode = 1;
}
