// A small LLM runtime for tests: the Ollama REST API and the OpenAI-compatible API of the
// llama.cpp server, over real llama.cpp (node-llama-cpp) on GGUF files. Field names, streaming
// format, status codes and error bodies follow the public API documentation of both, so the
// extension works unchanged against the real images. Models live in MODELS_DIR as
// "<name>__<tag>.gguf"; /api/pull copies from SOURCE_DIR ("<name>__<tag>.gguf") with progress.
// METRICS=1 serves /metrics (llama.cpp's --metrics); API_KEY=k1[,k2] requires a key as
// llama.cpp's --api-key does, on every route but the public ones.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { getLlama, LlamaCompletion, readGgufFileInfo } from 'node-llama-cpp';

const PORT = Number(process.env.PORT ?? 11434);
// 0.0.0.0 in the container (reached through a published port); tests running it on the host pass 127.0.0.1.
const HOST = process.env.HOST || '0.0.0.0';
const MODELS_DIR = process.env.MODELS_DIR ?? '/models';
const SOURCE_DIR = process.env.SOURCE_DIR ?? '/source';
const VERSION = '0.5.7';
const started = Date.now();
const METRICS = ['1', 'true', 'on', 'enabled'].includes(String(process.env.METRICS ?? process.env.LLAMA_ARG_ENDPOINT_METRICS ?? '').toLowerCase());
const API_KEYS = String(process.env.API_KEY ?? '')
  .split(',')
  .map((k) => k.trim())
  .filter(Boolean);
// llama.cpp answers these without a key (tools/server/server-http.cpp).
const PUBLIC_ROUTES = new Set(['/', '/health', '/v1/health', '/models', '/v1/models']);
const BUILD_INFO = (() => {
  try {
    const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules', 'node-llama-cpp');
    const tag = JSON.parse(fs.readFileSync(path.join(dir, 'llama', 'llama.cpp.info.json'), 'utf8')).tag;
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
    return `${tag}-node-llama-cpp-${version}`;
  } catch {
    return 'unknown';
  }
})();
/** What llama.cpp's /metrics reports; updated when a generation ends, as llama.cpp does. */
const stats = { promptTokens: 0, promptSeconds: 0, predictedTokens: 0, predictedSeconds: 0, decodeCalls: 0, nTokensMax: 0, processing: 0, deferred: 0 };

// llama.cpp's --threads (env LLAMA_ARG_THREADS), default 1 here. node-llama-cpp's default is
// max(cores, 4), and llama.cpp's threads spin-wait for each other at every op of every token: with
// more threads than free cores (4 on 2 cores, or 2 on a machine whose cores are busy) each token
// waits for descheduled threads and generation fell to 0.2-2 tokens/s. These models are tiny: one
// thread evaluates a token in well under a millisecond.
const THREADS = Number(process.env.LLAMA_ARG_THREADS) >= 1 ? Math.floor(Number(process.env.LLAMA_ARG_THREADS)) : 1;
let llamaLoading;
/** The llama.cpp bindings, loaded once (getLlama tests the binary in a child process: seconds). */
function llamaCpp() {
  llamaLoading ??= getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: THREADS }).catch((e) => {
    llamaLoading = undefined;
    throw e;
  });
  return llamaLoading;
}
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

// llama.cpp's llama_vocab_type numbering, from tokenizer.ggml.model.
const VOCAB_TYPES = { none: 0, llama: 1, gpt2: 2, bert: 3, t5: 4, rwkv: 5 };
const metas = new Map();
/** The "meta" llama.cpp puts in /v1/models, read from the GGUF header (cached per file version). */
async function ggufMeta(file, st) {
  const key = `${file}:${st.size}:${st.mtimeMs}`;
  if (!metas.has(key)) {
    let meta = { n_ctx_train: 512, size: st.size };
    try {
      const info = await readGgufFileInfo(file, { logWarnings: false });
      const arch = info.metadata?.general?.architecture;
      const llm = (arch && info.metadata?.[arch]) ?? {};
      const tokenizer = info.metadata?.tokenizer?.ggml ?? {};
      let params = 0;
      for (const t of info.fullTensorInfo ?? info.tensorInfo ?? []) params += t.dimensions.reduce((n, d) => n * Number(d), 1);
      meta = {
        vocab_type: VOCAB_TYPES[tokenizer.model] ?? 0,
        n_vocab: tokenizer.tokens?.length ?? 0,
        n_ctx_train: llm.context_length ?? 512,
        n_embd: llm.embedding_length ?? 0,
        n_params: params,
        size: st.size,
      };
    } catch {
      // A file llama.cpp cannot read still lists, as llama.cpp would fail only on load.
    }
    metas.set(key, meta);
  }
  return metas.get(key);
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

/** An error in the shape of llama.cpp's OpenAI-compatible routes. */
function sendOpenAiError(res, status, message, type) {
  send(res, status, { error: { code: status, message, type } });
}

function authorized(req, pathname) {
  if (!API_KEYS.length || req.method === 'OPTIONS' || PUBLIC_ROUTES.has(pathname)) return true;
  let key = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '');
  if (key.startsWith('Bearer ')) key = key.slice('Bearer '.length);
  return API_KEYS.includes(key);
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
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: Math.min(512, model.trainContextSize), threads: THREADS });
  entry = { model, context, size: fs.statSync(file).size, expiresAt: new Date(), timer: undefined };
  loaded.set(name, entry);
  const loadMs = performance.now() - t0;
  console.log(`loaded ${name} in ${Math.round(loadMs)} ms (context ${context.contextSize}, threads ${context.currentThreads})`);
  return { entry, loadMs };
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
  const maxTokens = Math.max(1, Math.min(512, Number(body.options?.num_predict ?? 32)));
  if (stream) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const r = await complete(entry, String(body.prompt), maxTokens, (chunk) => {
    if (stream) res.write(`${JSON.stringify({ model: name, created_at: new Date().toISOString(), response: chunk, done: false })}\n`);
  });
  const final = {
    model: name,
    created_at: new Date().toISOString(),
    response: stream ? '' : r.text,
    done: true,
    done_reason: r.evalCount >= maxTokens ? 'length' : 'stop',
    total_duration: Math.round((r.end - r.t0 + loadMs) * 1e6),
    load_duration: Math.round(loadMs * 1e6),
    prompt_eval_count: r.promptCount,
    prompt_eval_duration: Math.round((r.firstAt - r.t0) * 1e6),
    eval_count: r.evalCount,
    eval_duration: Math.round((r.end - r.firstAt) * 1e6),
  };
  schedule(name, ka);
  if (stream) res.end(`${JSON.stringify(final)}\n`);
  else send(res, 200, final);
}

// One slot, as llama.cpp with --parallel 1: generations wait their turn (requests_deferred).
let slotFree = Promise.resolve();
async function inSlot(fn) {
  const ahead = slotFree;
  let release;
  slotFree = new Promise((r) => (release = r));
  stats.deferred++;
  try {
    await ahead;
  } finally {
    stats.deferred--;
  }
  stats.processing++;
  try {
    return await fn();
  } finally {
    stats.processing--;
    release();
  }
}

/** Generates with llama.cpp on a loaded model: the one code path of /api/generate and /v1/completions. */
function complete(entry, prompt, maxTokens, onChunk) {
  return inSlot(async () => {
    const t0 = performance.now();
    const sequence = entry.context.getSequence();
    const completion = new LlamaCompletion({ contextSequence: sequence });
    let evalCount = 0;
    let firstAt;
    let text = '';
    try {
      await completion.generateCompletion(prompt, {
        maxTokens,
        onToken: () => {
          firstAt ??= performance.now();
        },
        onTextChunk: (chunk) => {
          firstAt ??= performance.now();
          text += chunk;
          onChunk?.(chunk);
        },
      });
      // Tokens generated (Ollama's eval_count), not text chunks: a chunk holds several byte tokens
      // when they form one UTF-8 character, so counting chunks undercounted by about half.
      // node-llama-cpp may go a token or two past maxTokens to finish a character; Ollama stops at
      // num_predict, so the count does too.
      evalCount = Math.min(sequence.tokenMeter.getState().usedOutputTokens, maxTokens);
    } finally {
      sequence.dispose();
    }
    const end = performance.now();
    firstAt ??= end;
    const promptCount = entry.model.tokenize(prompt).length;
    stats.promptTokens += promptCount;
    stats.promptSeconds += (firstAt - t0) / 1000;
    stats.predictedTokens += evalCount;
    stats.predictedSeconds += (end - firstAt) / 1000;
    stats.decodeCalls += 1 + evalCount;
    stats.nTokensMax = Math.max(stats.nTokensMax, promptCount + evalCount);
    return { text, evalCount, promptCount, t0, firstAt, end };
  });
}

/** POST /v1/completions, non-streamed, in the shape llama.cpp answers. */
async function openAiCompletion(req, res, body) {
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string') return sendOpenAiError(res, 400, '"prompt" must be provided', 'invalid_request_error');
  if (body.stream) return sendOpenAiError(res, 400, 'the test runtime does not stream /v1/completions', 'invalid_request_error');
  // llama.cpp serves one model and ignores the name; this server holds several, so the name picks one.
  const name = body.model ? canonical(body.model) : (await listModels())[0]?.name;
  const loadedModel = name && (await load(name));
  if (!loadedModel) return sendOpenAiError(res, 404, `model '${body.model ?? ''}' not found`, 'not_found_error');
  const requested = Number(body.max_tokens ?? body.n_predict ?? 16);
  const maxTokens = requested < 0 ? 512 : Math.max(1, Math.min(512, requested));
  const r = await complete(loadedModel.entry, prompt, maxTokens);
  schedule(name, keepAliveMs(undefined));
  const promptMs = r.firstAt - r.t0;
  const predictedMs = r.end - r.firstAt;
  return send(res, 200, {
    choices: [{ text: r.text, index: 0, logprobs: null, finish_reason: r.evalCount >= maxTokens ? 'length' : 'stop' }],
    created: Math.floor(Date.now() / 1000),
    model: name,
    system_fingerprint: BUILD_INFO,
    object: 'text_completion',
    usage: { completion_tokens: r.evalCount, prompt_tokens: r.promptCount, total_tokens: r.evalCount + r.promptCount },
    id: `cmpl-${createHash('sha256').update(`${Date.now()}${Math.random()}`).digest('hex').slice(0, 32)}`,
    timings: {
      prompt_n: r.promptCount,
      prompt_ms: promptMs,
      prompt_per_token_ms: r.promptCount ? promptMs / r.promptCount : 0,
      prompt_per_second: promptMs > 0 ? (r.promptCount * 1000) / promptMs : 0,
      predicted_n: r.evalCount,
      predicted_ms: predictedMs,
      predicted_per_token_ms: r.evalCount ? predictedMs / r.evalCount : 0,
      predicted_per_second: predictedMs > 0 ? (r.evalCount * 1000) / predictedMs : 0,
    },
  });
}

/** GET /props: llama.cpp's server properties, for the first loaded model (else the first listed). */
async function props(res) {
  const [name, entry] = [...loaded][0] ?? [(await listModels())[0]?.name, undefined];
  const file = name && fileOf(MODELS_DIR, name);
  // The context load() will create: at most 512, at most what the model was trained with.
  const nCtx = entry?.context.contextSize ?? (file && fs.existsSync(file) ? Math.min(512, (await ggufMeta(file, fs.statSync(file))).n_ctx_train) : 512);
  return send(res, 200, {
    default_generation_settings: {
      id: 0,
      id_task: -1,
      n_ctx: nCtx,
      speculative: false,
      is_processing: stats.processing > 0,
      params: { n_predict: -1, seed: 4294967295, temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_last_n: 64, repeat_penalty: 1, max_tokens: -1, n_keep: 0, stream: true, samplers: ['top_k', 'top_p', 'min_p', 'temperature'] },
      prompt: '',
      next_token: { has_next_token: true, has_new_line: false, n_remain: -1, n_decoded: 0, stopping_word: '' },
    },
    total_slots: 1,
    model_path: file || '',
    chat_template: '',
    chat_template_caps: {},
    modalities: { vision: false, audio: false },
    build_info: BUILD_INFO,
  });
}

// llama.cpp's metric names, help texts and types (README: "GET /metrics").
const METRIC_DEFS = [
  ['counter', 'prompt_tokens_total', 'Number of prompt tokens processed.', () => stats.promptTokens],
  ['counter', 'prompt_seconds_total', 'Prompt process time', () => stats.promptSeconds],
  ['counter', 'tokens_predicted_total', 'Number of generation tokens processed.', () => stats.predictedTokens],
  ['counter', 'tokens_predicted_seconds_total', 'Predict process time', () => stats.predictedSeconds],
  ['counter', 'n_decode_total', 'Total number of llama_decode() calls', () => stats.decodeCalls],
  ['counter', 'n_tokens_max', 'Largest observed n_tokens.', () => stats.nTokensMax],
  ['gauge', 'n_busy_slots_per_decode', 'Average number of busy slots per llama_decode() call', () => (stats.decodeCalls ? 1 : 0)],
  ['gauge', 'prompt_tokens_seconds', 'Average prompt throughput in tokens/s.', () => (stats.promptSeconds ? stats.promptTokens / stats.promptSeconds : 0)],
  ['gauge', 'predicted_tokens_seconds', 'Average generation throughput in tokens/s.', () => (stats.predictedSeconds ? stats.predictedTokens / stats.predictedSeconds : 0)],
  ['gauge', 'requests_processing', 'Number of requests processing.', () => stats.processing],
  ['gauge', 'requests_deferred', 'Number of requests deferred.', () => stats.deferred],
];

function metrics(res) {
  if (!METRICS) return sendOpenAiError(res, 501, 'This server does not support metrics endpoint. Start it with `--metrics`', 'not_supported_error');
  const text = METRIC_DEFS.map(([type, name, help, value]) => `# HELP llamacpp:${name} ${help}\n# TYPE llamacpp:${name} ${type}\nllamacpp:${name} ${value()}\n`).join('');
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text), 'process-start-time-unix': String(Math.floor(started / 1000)) });
  return res.end(text);
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
  let url;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    if (!authorized(req, url.pathname)) return sendOpenAiError(res, 401, 'Invalid API Key', 'authentication_error');
    switch (route) {
      case 'GET /':
        return res.end('Ollama is running');
      case 'GET /health':
      case 'GET /v1/health':
        return send(res, 200, { status: 'ok' });
      case 'GET /props':
        return await props(res);
      case 'GET /metrics':
        return metrics(res);
      case 'POST /v1/completions':
        return await openAiCompletion(req, res, await readBody(req));
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
      case 'GET /v1/models': {
        const data = [];
        for (const m of await listModels()) {
          const file = fileOf(MODELS_DIR, m.name);
          data.push({ id: m.name, object: 'model', created: Math.floor(started / 1000), owned_by: 'llamacpp', meta: await ggufMeta(file, fs.statSync(file)) });
        }
        return send(res, 200, { object: 'list', data });
      }
      default:
        return send(res, 404, { error: `${route} not found` });
    }
  } catch (e) {
    if (res.headersSent) res.end();
    else if (url?.pathname.startsWith('/v1/')) sendOpenAiError(res, e.status ?? 500, e.message, e.status === 400 ? 'invalid_request_error' : 'server_error');
    else send(res, e.status ?? 500, { error: e.message });
  }
});

server.listen(PORT, HOST, () => {
  console.log(`runtime listening on ${HOST}:${PORT}`);
  // Load llama.cpp now, not on the first prompt; a failure shows on that prompt's load.
  llamaCpp().catch(() => undefined);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
