// What a model's name says before it is pulled: parameters, quantization (Ollama's default
// Q4_K_M when the tag names none), the size that follows, and the use.
import * as assert from 'node:assert/strict';
import { factsFromName, useOfName } from '../../../../src/core/bench/names';

describe('facts from a model name (unit)', () => {
  it('reads parameters and quantization, and works out the size', () => {
    const l = factsFromName('llama3.2:1b');
    assert.deepEqual([l.parameters, l.quantization, l.use, l.layers], [1e9, 'Q4_K_M', 'chat', 28]);
    assert.equal(l.sizeBytes, Math.round((1e9 * 4.89) / 8));
    const q = factsFromName('qwen2.5-coder:7b-instruct-q8_0');
    assert.deepEqual([q.parameters, q.quantization, q.use], [7e9, 'Q8_0', 'code']);
    assert.equal(q.sizeBytes, Math.round((7e9 * 8.5) / 8));
    assert.deepEqual([factsFromName('gemma3:270m').parameters, factsFromName('qwen2.5:0.5b').parameters, factsFromName('llama3.1:70b-instruct-fp16').quantization], [270e6, 0.5e9, 'FP16']);
    // Mixture of experts: experts × size, less the shared attention.
    assert.equal(factsFromName('mixtral:8x7b').parameters, 8 * 7e9 * 0.85);
    // A quantization's digits are not a size ("q4_k_m" has no "4b"), the version in the name neither.
    assert.equal(factsFromName('llama3.3:70b-instruct-q4_K_M').parameters, 70e9);
  });

  it('gives no size where the name says none, and tells embedding and code models apart', () => {
    const n = factsFromName('mistral');
    assert.deepEqual([n.parameters, n.sizeBytes, n.use], [undefined, undefined, 'chat']);
    assert.deepEqual(['nomic-embed-text', 'mxbai-embed-large:335m', 'bge-m3', 'starcoder2:3b', 'deepseek-coder-v2:16b', 'phi4:14b'].map(useOfName), ['embedding', 'embedding', 'embedding', 'code', 'code', 'chat']);
  });
});
