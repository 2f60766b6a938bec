// Tokens per second per model: llama.cpp and vLLM counters over real HTTP, and recorded generations.
import * as assert from 'node:assert/strict';
import { generatedTokens, ModelThroughput, modelSeries, RuntimeInfo } from '../../../../src/core/metrics/models';
import { parsePrometheus } from '../../../../src/core/runtimes/openai';
import type { RuntimeEndpoint } from '../../../../src/core/runtimes/runtime';
import { localServer } from '../../../support/engine';

const llamaMetrics = (predicted: number, perSecond: number | string) => `# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 1200
# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total ${predicted}
# HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s.
# TYPE llamacpp:predicted_tokens_seconds gauge
llamacpp:predicted_tokens_seconds ${perSecond}
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 1
`;

const VLLM = `# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 420.0
vllm:generation_tokens_total{engine="1",model_name="Qwen/Qwen2.5-0.5B-Instruct"} 80.0
vllm:generation_tokens_total{engine="0",model_name="my-lora"} 7.0
`;

function endpoint(kind: RuntimeEndpoint['kind'], baseUrl: string, id = `${kind}@${baseUrl}`): RuntimeEndpoint {
  return { id, kind, api: kind === 'ollama' ? 'ollama' : 'openai', name: `${kind}-1`, baseUrl, source: 'container' };
}

describe('model throughput (unit)', () => {
  it('reads generated-token counters: llama.cpp unlabelled, vLLM per model_name', () => {
    assert.deepEqual([...generatedTokens(parsePrometheus(llamaMetrics(500, 42.5)), 'qwen.gguf')], [['qwen.gguf', { total: 500, rate: 42.5, promptRate: undefined }]]);
    // A bucket whose milliseconds rounded to 0 prints inf: no rate rather than an infinite one.
    assert.deepEqual([...generatedTokens(parsePrometheus(llamaMetrics(500, 'inf')), 'q')], [['q', { total: 500, rate: undefined, promptRate: undefined }]]);
    assert.deepEqual([...generatedTokens(parsePrometheus(VLLM), 'ignored')], [
      ['Qwen/Qwen2.5-0.5B-Instruct', { total: 500 }],
      ['my-lora', { total: 7 }],
    ]);
  });

  it("takes llama.cpp's gauge from the second read on, and the counter when another scraper emptied the gauge's bucket", async () => {
    let predicted = 1000;
    let gauge: number | string = 55;
    const server = await localServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(llamaMetrics(predicted, gauge));
      } else {
        res.writeHead(404).end();
      }
    });
    try {
      let now = 10_000;
      const m = new ModelThroughput({ now: () => now });
      m.setRuntimes([{ endpoint: endpoint('llamacpp', `http://127.0.0.1:${server.port}`), models: [{ name: 'm.gguf' }] }]);
      assert.deepEqual(await m.sample(), [], 'the first gauge covers an unknown stretch (since anyone last read it): no rate yet');
      now += 2000;
      predicted += 150;
      assert.equal((await m.sample())[0].tokensPerSecond, 55, 'the gauge, not the 75 tokens/s the counter gives over wall time');
      now += 2000;
      predicted += 100;
      gauge = 0;
      assert.equal((await m.sample())[0].tokensPerSecond, 50, 'gauge 0 though the counter moved: the counter');
      now += 2000;
      predicted += 100;
      gauge = 'inf';
      assert.equal((await m.sample())[0].tokensPerSecond, 50, 'gauge inf: the counter');
      now += 1000;
      gauge = 0;
      assert.equal((await m.sample())[0].tokensPerSecond, 0, 'idle: zero, not a gap');
      m.reset();
      gauge = 30;
      assert.deepEqual(await m.sample(), [], 'after a pause the first read only starts over');
    } finally {
      await server.close();
    }
  });

  it("computes tokens/s from llama.cpp's counter between two reads over HTTP when it serves no gauge", async () => {
    let predicted = 1000;
    const server = await localServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(llamaMetrics(predicted, 0).replace(/^llamacpp:predicted_tokens_seconds .*$/m, ''));
      } else {
        res.writeHead(404).end();
      }
    });
    try {
      let now = 10_000;
      const m = new ModelThroughput({ now: () => now });
      const runtimes: RuntimeInfo[] = [{ endpoint: endpoint('llamacpp', `http://127.0.0.1:${server.port}`), models: [{ name: 'qwen2.5-0.5b-q4_k_m.gguf' }] }];
      m.setRuntimes(runtimes);
      assert.deepEqual(await m.sample(), [], 'one read gives no rate yet');
      now += 2000;
      predicted += 150;
      const [rate] = await m.sample();
      assert.equal(rate.tokensPerSecond, 75);
      assert.equal(rate.model, 'qwen2.5-0.5b-q4_k_m.gguf');
      assert.equal(rate.source, 'metrics');
      assert.equal(modelSeries(rate).key, `model.${runtimes[0].endpoint.id}\u0000qwen2.5-0.5b-q4_k_m.gguf.tps`);
      now += 1000;
      assert.equal((await m.sample())[0].tokensPerSecond, 0, 'idle: zero, not a gap');
    } finally {
      await server.close();
    }
  });

  it('asks a runtime without /metrics again only after a while', async () => {
    let hits = 0;
    const server = await localServer((_req, res) => {
      hits++;
      // llama.cpp started without --metrics.
      res.writeHead(501, { 'content-type': 'application/json' }).end('{"error":{"code":501,"message":"This server does not support metrics endpoint.","type":"not_supported_error"}}');
    });
    try {
      let now = 0;
      const m = new ModelThroughput({ now: () => now, retryAfterMs: 60_000 });
      m.setRuntimes([{ endpoint: endpoint('llamacpp', `http://127.0.0.1:${server.port}`), models: [] }]);
      for (let i = 0; i < 5; i++) {
        now += 1000;
        assert.deepEqual(await m.sample(), []);
      }
      assert.equal(hits, 1);
      now += 60_000;
      await m.sample();
      assert.equal(hits, 2);
    } finally {
      await server.close();
    }
  });

  it('shows a recorded generation for a minute, for runtimes without counters', async () => {
    let now = 0;
    const m = new ModelThroughput({ now: () => now, readMetrics: async () => assert.fail('Ollama has no /metrics to read') });
    m.setRuntimes([{ endpoint: endpoint('ollama', 'http://127.0.0.1:11434', 'ollama@local'), models: [{ name: 'llama3.2:1b' }] }]);
    m.recordGeneration('ollama@local', 'llama3.2:1b', 256, 3200);
    m.recordGeneration('ollama@local', 'llama3.2:1b', 0, 100);
    const [r] = await m.sample();
    assert.deepEqual(r, { runtimeId: 'ollama@local', runtimeName: 'ollama-1', model: 'llama3.2:1b', tokensPerSecond: 80, source: 'generation' });
    now += 59_000;
    assert.equal((await m.sample()).length, 1);
    now += 2000;
    assert.deepEqual(await m.sample(), []);
  });

  it('a runtime removed from the catalog is forgotten, recorded generations included', async () => {
    const m = new ModelThroughput({ readMetrics: async () => undefined });
    m.setRuntimes([{ endpoint: endpoint('ollama', 'http://x', 'a'), models: [] }]);
    m.recordGeneration('a', 'm', 10, 1000);
    assert.equal(m.rates().length, 1);
    m.setRuntimes([]);
    assert.deepEqual(m.rates(), []);
  });
});
