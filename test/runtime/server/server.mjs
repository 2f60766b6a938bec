// A small LLM runtime for tests: the Ollama REST API and the OpenAI-compatible API of the
// llama.cpp server, over real llama.cpp (node-llama-cpp) on GGUF files. Field names, streaming
// format, status codes and error bodies follow the public API documentation of both, so the
// extension works unchanged against the real images. Models live in MODELS_DIR as
// "<name>__<tag>.gguf"; /api/pull copies from SOURCE_DIR ("<name>__<tag>.gguf") with progress.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';

const PORT = Number(process.env.PORT ?? 11434);
const MODELS_DIR = process.env.MODELS_DIR ?? '/models';
const SOURCE_DIR = process.env.SOURCE_DIR ?? '/source';
const VERSION = '0.5.7';
const started = Date.now();

let llama;
/** name:tag → { model, context, expiresAt, timer } */
const loaded = new Map();

const canonical = (name) => (String(name ?? '').includes(':') ? String(name) : `${name}:latest`);
const fileOf = (dir, name) => {
  const [n, t] = canonical(name).split(':');
  return path.join(dir, `${n.replace(/\//g, '_')}__${t}.gguf`);
};
const nameOf = (file) => {
  const m = /^(.+)__(.+)\.gguf$/.exec(path.basename(file));
  return m ? `${m[1]}:${m[2]}` : undefined;
};

async function digestOf(file) {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk);
  return h.digest('hex');
}

function readGgufQuick(file) {
  // Architecture and file type are enough for the listings; the extension reads GGUF itself.
  return { format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '', quantization_level: 'F32', parent_model: '' };
}

const digests = new Map();
async function listModels() {
  const out = [];
  for (const f of fs.existsSync(MODELS_DIR) ? fs.readdirSync(MODELS_DIR) : []) {
    const name = nameOf(f);
    if (!name) continue;
    const file = path.join(MODELS_DIR, f);
    const st = fs.statSync(file);
    const key = `${file}:${st.size}:${st.mtimeMs}`;
    if (!digests.has(key)) digests.set(key, await digestOf(file));
    out.push({ name, model: name, modified_at: new Date(st.mtimeMs).toISOString(), size: st.size, digest: digests.get(key), details: readGgufQuick(file) });
  }
  return out;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (d) => {
      data += d;
      if (data.length > 1e6) reject(Object.assign(new Error('request body too large'), { status: 413 }));
    });
    req.on('end', () => {
      if (!data) return resolve({});
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(Object.assign(new Error('invalid character in request body: not JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });
}

function keepAliveMs(v) {
  if (v === undefined || v === null) return 5 * 60_000;
  if (typeof v === 'number') return v < 0 ? Infinity : v * 1000;
  const m = /^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(v));
  if (!m) return 5 * 60_000;
  const n = Number(m[1]);
  return n < 0 ? Infinity : n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'];
}

async function unload(name) {
  const entry = loaded.get(name);
  if (!entry) return;
  loaded.delete(name);
  clearTimeout(entry.timer);
  await entry.context.dispose();
  await entry.model.dispose();
}

function schedule(name, ms) {
  const entry = loaded.get(name);
  if (!entry) return;
  clearTimeout(entry.timer);
  entry.expiresAt = ms === Infinity ? new Date(8.64e15) : new Date(Date.now() + ms);
  if (ms !== Infinity) entry.timer = setTimeout(() => void unload(name), ms);
}

async function load(name) {
  let entry = loaded.get(name);
  if (entry) return { entry, loadMs: 0 };
  const file = fileOf(MODELS_DIR, name);
  if (!fs.existsSync(file)) return undefined;
  const t0 = performance.now();
  llama ??= await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: Math.min(512, model.trainContextSize) });
  entry = { model, context, size: fs.statSync(file).size, expiresAt: new Date(), timer: undefined };
  loaded.set(name, entry);
  return { entry, loadMs: performance.now() - t0 };
}

async function generate(req, res, body) {
  const name = canonical(body.model);
  if (!body.model) return send(res, 400, { error: 'model is required' });
  const ka = keepAliveMs(body.keep_alive);
  if (!body.prompt && ka === 0) {
    await unload(name);
    return send(res, 200, { model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'unload' });
  }
  const loadedModel = await load(name);
  if (!loadedModel) return send(res, 404, { error: `model '${name}' not found` });
  const { entry, loadMs } = loadedModel;
  if (!body.prompt) {
    schedule(name, ka);
    return send(res, 200, { model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
  }
  const stream = body.stream !== false;
  const t0 = performance.now();
  const sequence = entry.context.getSequence();
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const maxTokens = Math.max(1, Math.min(512, Number(body.options?.num_predict ?? 32)));
  let evalCount = 0;
  let firstAt;
  let text = '';
  if (stream) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  try {
    await completion.generateCompletion(String(body.prompt), {
      maxTokens,
      onTextChunk: (chunk) => {
        evalCount++;
        firstAt ??= performance.now();
        text += chunk;
        if (stream) res.write(`${JSON.stringify({ model: name, created_at: new Date().toISOString(), response: chunk, done: false })}\n`);
      },
    });
  } finally {
    sequence.dispose();
  }
  const end = performance.now();
  const promptCount = entry.model.tokenize(String(body.prompt)).length;
  const final = {
    model: name,
    created_at: new Date().toISOString(),
    response: stream ? '' : text,
    done: true,
    done_reason: evalCount >= maxTokens ? 'length' : 'stop',
    total_duration: Math.round((end - t0 + loadMs) * 1e6),
    load_duration: Math.round(loadMs * 1e6),
    prompt_eval_count: promptCount,
    prompt_eval_duration: Math.round(((firstAt ?? end) - t0) * 1e6),
    eval_count: evalCount,
    eval_duration: Math.round((end - (firstAt ?? end)) * 1e6),
  };
  schedule(name, ka);
  if (stream) res.end(`${JSON.stringify(final)}\n`);
  else send(res, 200, final);
}

async function pull(req, res, body) {
  const name = canonical(body.model ?? body.name);
  const src = fileOf(SOURCE_DIR, name);
  const stream = body.stream !== false;
  if (!fs.existsSync(src)) return send(res, 500, { error: 'pull model manifest: file does not exist' });
  const total = fs.statSync(src).size;
  const digest = `sha256:${await digestOf(src)}`;
  const dest = fileOf(MODELS_DIR, name);
  const partial = `${dest}.partial`;
  // Resume where an earlier pull stopped, as Ollama does with its blobs.
  let completed = fs.existsSync(partial) ? Math.min(fs.statSync(partial).size, total) : 0;
  const line = (o) => stream && res.write(`${JSON.stringify(o)}\n`);
  if (stream) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  line({ status: 'pulling manifest' });
  const delayMs = Number(process.env.PULL_CHUNK_DELAY_MS ?? 0);
  await new Promise((resolve, reject) => {
    const input = fs.createReadStream(src, { start: completed, highWaterMark: 256 * 1024 });
    const output = fs.createWriteStream(partial, { flags: completed ? 'a' : 'w' });
    input.on('data', (chunk) => {
      input.pause();
      output.write(chunk, () => {
        completed += chunk.length;
        line({ status: `pulling ${digest.slice(7, 19)}`, digest, total, completed });
        setTimeout(() => input.resume(), delayMs);
      });
    });
    input.on('end', () => output.end(resolve));
    input.on('error', reject);
    output.on('error', reject);
    req.on('close', () => {
      if (!res.writableEnded && completed < total) input.destroy();
    });
  });
  line({ status: 'verifying sha256 digest' });
  if (`sha256:${await digestOf(partial)}` !== digest) {
    fs.rmSync(partial, { force: true });
    return stream ? res.end(`${JSON.stringify({ error: 'digest mismatch, file must be downloaded again' })}\n`) : send(res, 500, { error: 'digest mismatch' });
  }
  line({ status: 'writing manifest' });
  fs.renameSync(partial, dest);
  if (stream) res.end(`${JSON.stringify({ status: 'success' })}\n`);
  else send(res, 200, { status: 'success' });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
        return res.end('Ollama is running');
      case 'GET /health':
        return send(res, 200, { status: 'ok' });
      case 'GET /api/version':
        return send(res, 200, { version: VERSION });
      case 'GET /api/tags':
        return send(res, 200, { models: await listModels() });
      case 'GET /api/ps': {
        const all = await listModels();
        return send(res, 200, {
          models: [...loaded].map(([name, e]) => ({ ...all.find((m) => m.name === name), expires_at: e.expiresAt.toISOString(), size_vram: 0, size: e.size })),
        });
      }
      case 'POST /api/show': {
        const body = await readBody(req);
        const name = canonical(body.model ?? body.name);
        const m = (await listModels()).find((x) => x.name === name);
        if (!m) return send(res, 404, { error: `model '${name}' not found` });
        return send(res, 200, { modelfile: `FROM ${fileOf(MODELS_DIR, name)}`, parameters: '', template: '{{ .Prompt }}', details: m.details, model_info: { 'general.architecture': 'llama' }, modified_at: m.modified_at });
      }
      case 'DELETE /api/delete': {
        const body = await readBody(req);
        const name = canonical(body.model ?? body.name);
        const file = fileOf(MODELS_DIR, name);
        if (!fs.existsSync(file)) return send(res, 404, { error: `model '${name}' not found` });
        await unload(name);
        fs.rmSync(file);
        return res.end();
      }
      case 'POST /api/generate':
        return await generate(req, res, await readBody(req));
      case 'POST /api/pull':
        return await pull(req, res, await readBody(req));
      case 'GET /v1/models':
        return send(res, 200, { object: 'list', data: (await listModels()).map((m) => ({ id: m.name, object: 'model', created: Math.floor(started / 1000), owned_by: 'library' })) });
      default:
        return send(res, 404, { error: `${route} not found` });
    }
  } catch (e) {
    if (!res.headersSent) send(res, e.status ?? 500, { error: e.message });
    else res.end();
  }
});

server.listen(PORT, '0.0.0.0', () => console.log(`runtime listening on ${PORT}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
