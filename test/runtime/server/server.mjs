// A small LLM runtime for tests: the Ollama REST API and the OpenAI-compatible API of the
// llama.cpp server, over real llama.cpp (node-llama-cpp) on GGUF files. Field names, streaming
// format, status codes and error bodies follow the public API documentation of both, so the
// extension works unchanged against the real images. Models live in MODELS_DIR as
// "<name>__<tag>.gguf"; /api/pull copies from SOURCE_DIR ("<name>__<tag>.gguf") with progress.
// METRICS=1 serves /metrics (llama.cpp's --metrics); API_KEY=k1[,k2] requires a key as
// llama.cpp's --api-key does, on every route but the public ones. Modes that imitate what real
// servers send (each explained where it is handled): METRICS_START_TOKENS, THINKING,
// FAIL_MIDSTREAM_AFTER, MODE=llamacpp-router, FLAVOR=localai|lmstudio|tgi. TRACE_LOG=file records
// each request's traceparent header.
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
// METRICS_START_TOKENS=n: a server that has already generated n tokens (at 30 tokens/s), so its
// counters print in exponent form (1.23457e+07) as a long-running llama-server's do.
stats.predictedTokens = Math.max(0, Math.floor(Number(process.env.METRICS_START_TOKENS ?? 0) || 0));
stats.predictedSeconds = stats.predictedTokens / 30;
stats.promptTokens = stats.predictedTokens;
stats.promptSeconds = stats.predictedTokens / 1000;

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

// /api/show's model_info: the GGUF header's keys, as ollama/ollama server/routes.go GetModelInfo
// and getModelData at 83ed7d9965b1ee07e0f0b29fd46e47c31f0fcab8 give them without `verbose`: arrays
// collected empty (maxArraySize 0), general.name and tokenizer.chat_template left out.
async function modelInfo(file) {
  const out = {};
  try {
    const info = await readGgufFileInfo(file, { logWarnings: false, readTensorInfo: false });
    const walk = (prefix, o) => {
      for (const [k, v] of Object.entries(o ?? {})) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (Array.isArray(v) || ArrayBuffer.isView(v)) out[key] = [];
        else if (v && typeof v === 'object') walk(key, v);
        else out[key] = typeof v === 'bigint' ? Number(v) : v;
      }
    };
    walk('', info.metadata);
  } catch {
    return { 'general.architecture': 'llama' };
  }
  delete out['general.name'];
  delete out['tokenizer.chat_template'];
  return out;
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

// options.num_ctx sets the context a model is loaded with, clamped to what it was trained for; a
// loaded model asked for with another num_ctx is loaded again, as ollama/ollama server/sched.go
// needsReload (effectiveContext, the runner options compared) at
// fb30760996871fa9460115c753afd2c60d4ab0f7 does. Without num_ctx: 512 (Ollama's default is larger;
// 512 keeps the tests fast) or what the loaded model already has.
async function load(name, numCtx) {
  let entry = loaded.get(name);
  if (entry && (!numCtx || Math.min(numCtx, entry.model.trainContextSize) === entry.context.contextSize)) return { entry, loadMs: 0 };
  if (entry) await unload(name);
  const file = fileOf(MODELS_DIR, name);
  if (!fs.existsSync(file)) return undefined;
  const t0 = performance.now();
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: Math.min(numCtx > 0 ? numCtx : 512, model.trainContextSize), threads: THREADS });
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
  const loadedModel = await load(name, Number(body.options?.num_ctx) || undefined);
  if (!loadedModel) return send(res, 404, { error: `model '${name}' not found` });
  const { entry, loadMs } = loadedModel;
  if (!body.prompt) {
    schedule(name, ka);
    return send(res, 200, { model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
  }
  const stream = body.stream !== false;
  const maxTokens = Math.max(1, Math.min(512, Number(body.options?.num_predict ?? 32)));
  const think = thinkingFor(name, body.think);
  if (think.error) return send(res, 400, { error: think.error });
  const failure = midstreamFailure('generate');
  // Headers go out with the first line: a failure before it is an HTTP 500, as in Ollama.
  const line = (o) => {
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${JSON.stringify(o)}\n`);
  };
  const text = { response: '', thinking: '' };
  const r = await complete(entry, String(body.prompt), maxTokens, (chunk) => {
    if (failure.trip()) return;
    const part = think.split(chunk);
    text.response += part.response;
    text.thinking += part.thinking ?? '';
    if (stream) line({ model: name, created_at: new Date().toISOString(), ...part, done: false });
  });
  if (failure.tripped) return failure.send(res, stream);
  const final = {
    model: name,
    created_at: new Date().toISOString(),
    response: stream ? '' : text.response,
    ...(!stream && text.thinking ? { thinking: text.thinking } : {}),
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
  if (stream) {
    line(final);
    res.end();
  } else send(res, 200, final);
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

// THINKING=1: every model is a thinking model (deepseek-r1, qwen3), as ollama/ollama
// server/routes.go GenerateHandler at fb30760996871fa9460115c753afd2c60d4ab0f7 treats one whose
// template has thinking tags: `think` defaults to true, the text inside the tags streams in
// `thinking` and the rest in `response` (api/types.go GenerateResponse), `think: false` gives all
// of it as `response`, and `think: true` on a model without the capability is a 400. Random
// weights emit no tags, so the first THINK_TOKENS chunks (default 8) count as the thinking part.
const THINKING = ['1', 'true', 'on'].includes(String(process.env.THINKING ?? '').toLowerCase());
const THINK_TOKENS = Math.max(0, Number(process.env.THINK_TOKENS ?? 8) || 0);

/** The generate request's view of thinking: its error, and how to split each streamed chunk. */
function thinkingFor(name, think) {
  const wanted = think === undefined || think === null ? THINKING : think !== false;
  if (!THINKING && wanted) return { error: `"${name}" does not support thinking`, split: (c) => ({ response: c }) };
  let n = 0;
  const tokens = wanted ? THINK_TOKENS : 0;
  return { split: (c) => (n++ < tokens ? { response: '', thinking: c } : { response: c }) };
}

// FAIL_MIDSTREAM_AFTER=n: /api/generate and /api/pull fail after n streamed lines, as Ollama does
// when its runner dies: ollama/ollama server/routes.go streamResponse at
// fb30760996871fa9460115c753afd2c60d4ab0f7 writes a last {"error": "…"} line (no "done") once
// something was written, or answers HTTP 500 {"error": "…"} when nothing was; the messages are
// llm/llama_server.go's and server/download.go's.
const FAIL_AFTER = process.env.FAIL_MIDSTREAM_AFTER === undefined || process.env.FAIL_MIDSTREAM_AFTER === '' ? undefined : Math.max(0, Number(process.env.FAIL_MIDSTREAM_AFTER) || 0);
const FAILURE_MESSAGES = {
  generate: 'an error was encountered while running the model: unexpected EOF',
  pull: 'max retries exceeded: read tcp 127.0.0.1:52814->104.21.75.227:443: read: connection reset by peer',
};

function midstreamFailure(what) {
  const message = FAILURE_MESSAGES[what];
  let lines = 0;
  return {
    tripped: false,
    /** Called before each line is written: true once FAIL_MIDSTREAM_AFTER lines went out (the rest is dropped). */
    trip() {
      if (FAIL_AFTER !== undefined && lines++ >= FAIL_AFTER) this.tripped = true;
      return this.tripped;
    },
    send(res, stream) {
      if (stream && res.headersSent) return res.end(`${JSON.stringify({ error: message })}\n`);
      return send(res, 500, { error: message });
    },
  };
}

/** POST /v1/completions, non-streamed, in the shape llama.cpp answers. */
async function openAiCompletion(req, res, body) {
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string') return sendOpenAiError(res, 400, '"prompt" must be provided', 'invalid_request_error');
  // llama.cpp serves one model and ignores the name; this server holds several, so the name picks one.
  const name = body.model ? canonical(body.model) : (await listModels())[0]?.name;
  const loadedModel = name && (await load(name));
  if (!loadedModel) return sendOpenAiError(res, 404, `model '${body.model ?? ''}' not found`, 'not_found_error');
  const requested = Number(body.max_tokens ?? body.n_predict ?? 16);
  const maxTokens = requested < 0 ? 512 : Math.max(1, Math.min(512, requested));
  const id = `cmpl-${createHash('sha256').update(`${Date.now()}${Math.random()}`).digest('hex').slice(0, 32)}`;
  const head = () => ({ created: Math.floor(Date.now() / 1000), model: name, system_fingerprint: BUILD_INFO, object: 'text_completion', id });
  // stream: server-sent events as llama.cpp's server writes them (tools/server/server-task.cpp
  // server_task_result_cmpl_partial::to_json_oaicompat and server_task_result_cmpl_final::to_json_oaicompat
  // at 00efb3e184262872916bf136b3df63c1822a19bd): one `data:` chunk per piece of text with
  // finish_reason null, the final result (empty text, finish_reason, usage, timings), then
  // `data: [DONE]`. Headers go out with the first chunk.
  const event = (o) => {
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`data: ${JSON.stringify(o)}\n\n`);
  };
  const r = await complete(loadedModel.entry, prompt, maxTokens, body.stream ? (chunk) => event({ choices: [{ text: chunk, index: 0, logprobs: null, finish_reason: null }], ...head() }) : undefined);
  schedule(name, keepAliveMs(undefined));
  const promptMs = r.firstAt - r.t0;
  const predictedMs = r.end - r.firstAt;
  const final = {
    choices: [{ text: body.stream ? '' : r.text, index: 0, logprobs: null, finish_reason: r.evalCount >= maxTokens ? 'length' : 'stop' }],
    ...head(),
    usage: { completion_tokens: r.evalCount, prompt_tokens: r.promptCount, total_tokens: r.evalCount + r.promptCount },
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
  };
  if (!body.stream) return send(res, 200, final);
  event(final);
  res.end('data: [DONE]\n\n');
}

/** GET /props: llama.cpp's server properties, for the first loaded model (else the first listed). */
async function props(res) {
  return propsOf(res, [...loaded][0]?.[0] ?? (await listModels())[0]?.name);
}

/** /props of one model, as the llama-server that holds it answers. */
async function propsOf(res, name) {
  const entry = loaded.get(name);
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

// GET /metrics as llama-server prints it: ggml-org/llama.cpp tools/server/server-context.cpp at
// fb4026604c67c682f552337ec9b91eced0abd35a (struct server_metrics, the metrics handler). Every value
// goes through `auto value = json_value(metric_def, "value", 0.); prometheus << value`: a C++ double
// written by a default std::stringstream, i.e. printf("%g") with 6 significant digits, so a counter
// past a million reads 1.23457e+07. The two gauges are computed over a "bucket" that each /metrics
// read empties (metrics.reset_bucket(), task.metrics_reset_bucket = true): the generation throughput
// since the previous read. Times are kept in whole milliseconds (uint64_t), as upstream does.
const bucketStart = { promptTokens: stats.promptTokens, promptMs: Math.trunc(stats.promptSeconds * 1000), predictedTokens: stats.predictedTokens, predictedMs: Math.trunc(stats.predictedSeconds * 1000) };

/** A double as `std::ostream << double` writes it (%g, precision 6): 0, 30.5, 1.23457e+07, inf, nan. */
function cppDouble(v) {
  if (Number.isNaN(v)) return v < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const strip = (t) => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
  const [mantissa, e] = v.toExponential(5).split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(v.toFixed(5 - exp));
}

function metricDefs() {
  const promptMs = Math.trunc(stats.promptSeconds * 1000);
  const predictedMs = Math.trunc(stats.predictedSeconds * 1000);
  const bucket = { promptTokens: stats.promptTokens - bucketStart.promptTokens, promptMs: promptMs - bucketStart.promptMs, predictedTokens: stats.predictedTokens - bucketStart.predictedTokens, predictedMs: predictedMs - bucketStart.predictedMs };
  Object.assign(bucketStart, { promptTokens: stats.promptTokens, promptMs, predictedTokens: stats.predictedTokens, predictedMs });
  return [
    ['counter', 'prompt_tokens_total', 'Number of prompt tokens processed.', stats.promptTokens],
    ['counter', 'prompt_seconds_total', 'Prompt process time', promptMs / 1e3],
    ['counter', 'tokens_predicted_total', 'Number of generation tokens processed.', stats.predictedTokens],
    ['counter', 'tokens_predicted_seconds_total', 'Predict process time', predictedMs / 1e3],
    ['counter', 'n_decode_total', 'Total number of llama_decode() calls', stats.decodeCalls],
    ['counter', 'n_tokens_max', 'Largest observed n_tokens.', stats.nTokensMax],
    ['counter', 'n_busy_slots_per_decode', 'Average number of busy slots per llama_decode() call', Math.fround(stats.decodeCalls ? 1 : 0)],
    // Upstream divides by the bucket's milliseconds even when they round to 0: then it prints inf.
    ['gauge', 'prompt_tokens_seconds', 'Average prompt throughput in tokens/s.', bucket.promptTokens ? (1e3 / bucket.promptMs) * bucket.promptTokens : 0],
    ['gauge', 'predicted_tokens_seconds', 'Average generation throughput in tokens/s.', bucket.predictedTokens ? (1e3 / bucket.predictedMs) * bucket.predictedTokens : 0],
    ['gauge', 'requests_processing', 'Number of requests processing.', stats.processing],
    ['gauge', 'requests_deferred', 'Number of requests deferred.', stats.deferred],
  ];
}

function metrics(res) {
  if (!METRICS) return sendOpenAiError(res, 501, 'This server does not support metrics endpoint. Start it with `--metrics`', 'not_supported_error');
  const text = metricDefs()
    .map(([type, name, help, value]) => `# HELP llamacpp:${name} ${help}\n# TYPE llamacpp:${name} ${type}\nllamacpp:${name} ${cppDouble(value)}\n`)
    .join('');
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
  const failure = midstreamFailure('pull');
  await copyWithProgress();
  if (failure.tripped) return failure.send(res, stream);
  async function copyWithProgress() {
    await new Promise((resolve, reject) => {
      const input = fs.createReadStream(src, { start: completed, highWaterMark: 256 * 1024 });
      const output = fs.createWriteStream(partial, { flags: completed ? 'a' : 'w' });
      input.on('data', (chunk) => {
        input.pause();
        if (failure.trip()) {
          input.destroy();
          output.end(resolve);
          return;
        }
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
  }
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

// MODE=llamacpp-router: llama-server started without -m (router mode), serving every model of
// MODELS_DIR and loading them on demand: ggml-org/llama.cpp tools/server/server-models.cpp at
// 40103380c0e579b976d6d19509bdada4d6aed8a5 (server_models_routes::init_routes) and the route table
// of tools/server/server.cpp at aa6192d38defc9a5d9fb2987413f71b18f214270. ROUTER_LOAD_DELAY_MS
// stretches a load so that its "loading" status can be seen.
const ROUTER = process.env.MODE === 'llamacpp-router';
const ROUTER_LOAD_DELAY_MS = Math.max(0, Number(process.env.ROUTER_LOAD_DELAY_MS ?? 0) || 0);
/** name → 'loading' while a load runs; a failed load leaves its exit code (status.failed). */
const routerLoading = new Map();

function routerStatus(name) {
  if (loaded.has(name)) return 'loaded';
  return routerLoading.has(name) ? 'loading' : 'unloaded';
}

/** Starts a load and answers at once, as server_models::load spawns the child and returns. */
function routerLoad(name) {
  if (routerLoading.has(name) || loaded.has(name)) return routerLoading.get(name);
  const p = (async () => {
    if (ROUTER_LOAD_DELAY_MS) await new Promise((r) => setTimeout(r, ROUTER_LOAD_DELAY_MS));
    const r = await load(name);
    if (r) schedule(name, Infinity);
  })().finally(() => routerLoading.delete(name));
  p.catch(() => undefined);
  routerLoading.set(name, p);
  return p;
}

async function routerRoute(req, res, url) {
  const route = `${req.method} ${url.pathname}`;
  const names = (await listModels()).map((m) => m.name);
  const known = (n) => typeof n === 'string' && names.includes(n);
  switch (route) {
    case 'GET /models':
    case 'GET /v1/models': {
      // get_router_models: no "meta" ("TODO: add other fields, may require reading GGUF metadata").
      const t = Math.floor(Date.now() / 1000);
      const data = names.map((name) => ({
        id: name,
        object: 'model',
        owned_by: 'llamacpp',
        created: t,
        status: { value: routerStatus(name), args: ['llama-server', '--host', '127.0.0.1', '--port', '0', '--alias', name, '--model', fileOf(MODELS_DIR, name)] },
      }));
      send(res, 200, { data, object: 'list' });
      return true;
    }
    case 'POST /models/load': {
      const name = (await readBody(req)).model;
      if (!known(name)) sendOpenAiError(res, 404, 'model is not found', 'not_found_error');
      else if (loaded.has(name)) sendOpenAiError(res, 400, 'model is already loaded', 'invalid_request_error');
      else {
        void routerLoad(name);
        send(res, 200, { success: true });
      }
      return true;
    }
    case 'POST /models/unload': {
      const name = (await readBody(req)).model;
      if (!known(name)) sendOpenAiError(res, 400, 'model is not found', 'invalid_request_error');
      else if (routerStatus(name) === 'unloaded') sendOpenAiError(res, 400, 'model is not loaded', 'invalid_request_error');
      else {
        await routerLoading.get(name)?.catch(() => undefined);
        await unload(name);
        send(res, 200, { success: true });
      }
      return true;
    }
    case 'GET /props': {
      const name = url.searchParams.get('model') ?? '';
      if (!name) {
        // get_router_props without ?model=: the router's own, a dummy n_ctx of 0.
        send(res, 200, { role: 'router', max_instances: 4, model_alias: 'llama-server', model_path: 'none', default_generation_settings: { params: {}, n_ctx: 0 }, webui_settings: {} });
        return true;
      }
      // proxy_get: ?autoload=false (or a router started with --no-models-autoload) leaves an unloaded model alone.
      const autoload = url.searchParams.get('autoload');
      if (!routerReady(res, name, known(name), autoload === null ? true : autoload === 'true' || autoload === '1')) return true;
      await routerLoad(name);
      await propsOf(res, name);
      return true;
    }
    case 'POST /v1/completions': {
      const body = await readBody(req);
      if (!routerReady(res, body.model ?? '', known(body.model), true)) return true;
      await openAiCompletion(req, res, body);
      return true;
    }
    default:
      return false;
  }
}

// FLAVOR=localai|lmstudio|tgi: the routes by which those servers differ from llama-server.
// - localai: /readyz answers 503 until start-up is done (here: until READY_FILE exists) while
//   /healthz and /v1/models already answer; no /health (mudler/LocalAI
//   core/http/routes/health_test.go at 54396074c3dcffc4644da1040fa4072cdb92cf56).
// - lmstudio: GET /api/v0/models with each model's state and max_context_length (lmstudio-ai/docs
//   1_developer/2_rest/endpoints.mdx, REST API v0), /v1/models without llama.cpp's meta, and HTTP 200
//   {"error":"Unexpected endpoint or method. (GET /x)"} for routes it does not have.
// - tgi: GET /info (huggingface/text-generation-inference router/src/lib.rs struct Info at
//   014d3fd4effb4e1e742b64c1d6b68ab5c0420686) and tgi_* metrics, generated tokens as the histogram
//   tgi_request_generated_tokens (_sum counts them); /v1/models answers the one model, not a list.
const FLAVOR = process.env.FLAVOR ?? '';

async function flavorRoute(req, res, url) {
  const route = `${req.method} ${url.pathname}`;
  if (FLAVOR === 'localai') {
    if (route === 'GET /readyz') {
      const ready = !process.env.READY_FILE || fs.existsSync(process.env.READY_FILE);
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(ready ? 'OK' : 'Service Unavailable');
      return true;
    }
    if (route === 'GET /healthz') return res.writeHead(200).end('OK'), true;
    if (route === 'GET /health' || route === 'GET /props' || route === 'GET /metrics') return send(res, 404, { message: 'Not Found' }), true;
    return false;
  }
  if (FLAVOR === 'lmstudio') {
    if (route === 'GET /api/v0/models') {
      const data = [];
      for (const m of await listModels()) {
        const file = fileOf(MODELS_DIR, m.name);
        const meta = await ggufMeta(file, fs.statSync(file));
        const entry = loaded.get(m.name);
        data.push({ id: m.name, object: 'model', type: 'llm', publisher: 'lmstudio-community', arch: 'llama', compatibility_type: 'gguf', quantization: 'F32', state: entry ? 'loaded' : 'not-loaded', max_context_length: meta.n_ctx_train, ...(entry ? { loaded_context_length: entry.context.contextSize } : {}) });
      }
      send(res, 200, { object: 'list', data });
      return true;
    }
    if (route === 'GET /v1/models') {
      send(res, 200, { data: (await listModels()).map((m) => ({ id: m.name, object: 'model', owned_by: 'organization_owner' })), object: 'list' });
      return true;
    }
    if (route === 'POST /v1/completions' || route === 'GET /api/version') return false;
    send(res, 200, { error: `Unexpected endpoint or method. (${req.method} ${url.pathname})` });
    return true;
  }
  if (FLAVOR === 'tgi') {
    const name = (await listModels())[0]?.name ?? '';
    if (route === 'GET /info') {
      const file = fileOf(MODELS_DIR, name);
      const ctx = fs.existsSync(file) ? (await ggufMeta(file, fs.statSync(file))).n_ctx_train : 512;
      send(res, 200, {
        model_id: name,
        model_sha: null,
        model_dtype: 'torch.float32',
        model_device_type: 'cpu',
        model_pipeline_tag: 'text-generation',
        max_concurrent_requests: 128,
        max_best_of: 2,
        max_stop_sequences: 4,
        max_input_length: ctx - 1,
        max_total_tokens: ctx,
        waiting_served_ratio: 1.2,
        max_batch_total_tokens: 16000,
        max_waiting_tokens: 20,
        max_batch_size: null,
        validation_workers: 2,
        version: '2.0.4',
        sha: null,
        docker_label: null,
      });
      return true;
    }
    if (route === 'GET /metrics') {
      const text = `# TYPE tgi_request_generated_tokens histogram\ntgi_request_generated_tokens_bucket{le="+Inf"} ${stats.decodeCalls}\ntgi_request_generated_tokens_sum ${stats.predictedTokens}\ntgi_request_generated_tokens_count ${stats.decodeCalls}\n# TYPE tgi_queue_size gauge\ntgi_queue_size ${stats.deferred}\n# TYPE tgi_batch_current_size gauge\ntgi_batch_current_size ${stats.processing}\n`;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
      return true;
    }
    if (route === 'GET /v1/models') {
      send(res, 200, { id: name, object: 'model', created: Math.floor(started / 1000), owned_by: name });
      return true;
    }
    if (route === 'GET /health') return res.writeHead(200).end(), true;
    if (route === 'GET /props') return send(res, 404, { error: 'Not Found' }), true;
    return false;
  }
  return false;
}

/** router_validate_model: the model name is there, known, and loaded unless autoload allows loading it. */
function routerReady(res, name, known, autoload) {
  if (!name) sendOpenAiError(res, 400, 'model name is missing from the request', 'invalid_request_error');
  else if (!known) sendOpenAiError(res, 400, 'model not found', 'invalid_request_error');
  else if (!autoload && routerStatus(name) !== 'loaded') sendOpenAiError(res, 400, 'model is not loaded', 'invalid_request_error');
  else return true;
  return false;
}

const server = http.createServer(async (req, res) => {
  let url;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    // TRACE_LOG=file: each request's W3C traceparent, for the tracing tests (a test aid; vLLM and
    // others read the header the same way, through their OpenTelemetry instrumentation).
    if (process.env.TRACE_LOG) fs.appendFileSync(process.env.TRACE_LOG, `${route} ${req.headers.traceparent ?? '-'}\n`);
    if (!authorized(req, url.pathname)) return sendOpenAiError(res, 401, 'Invalid API Key', 'authentication_error');
    if (ROUTER && (await routerRoute(req, res, url))) return;
    if (FLAVOR && (await flavorRoute(req, res, url))) return;
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
          // context_length: api/types.go ProcessModelResponse (the context the runner was started with).
          models: [...loaded].map(([name, e]) => ({ ...all.find((m) => m.name === name), expires_at: e.expiresAt.toISOString(), size_vram: 0, size: e.size, context_length: e.context.contextSize })),
        });
      }
      case 'POST /api/show': {
        const body = await readBody(req);
        const name = canonical(body.model ?? body.name);
        const m = (await listModels()).find((x) => x.name === name);
        if (!m) return send(res, 404, { error: `model '${name}' not found` });
        return send(res, 200, { modelfile: `FROM ${fileOf(MODELS_DIR, name)}`, parameters: '', template: '{{ .Prompt }}', details: m.details, model_info: await modelInfo(fileOf(MODELS_DIR, name)), capabilities: ['completion', ...(THINKING ? ['thinking'] : [])], modified_at: m.modified_at });
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
