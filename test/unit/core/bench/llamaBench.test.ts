// llama-bench output read back: -o json (an array) and -o jsonl (one object per line), in the shape
// its json_printer writes (ggml-org/llama.cpp tools/llama-bench/llama-bench.cpp at
// 0104b151c56d54143e2e3554aabe9e2b2b8dbdba: test::get_fields, then samples_ns and samples_ts);
// test names as its markdown printer makes them; hostile and broken files refused with the reason.
import * as assert from 'node:assert/strict';
import { llamaBenchTestName, parseLlamaBench } from '../../../../src/core/bench/llamaBench';
import { llamaBenchRecord } from '../../../support/llamaBench';

describe('llama-bench results (unit)', () => {
  it('reads -o json (an array) and -o jsonl (one test a line)', () => {
    const tests = [llamaBenchRecord(512, 0, 180.5), llamaBenchRecord(0, 128, 21.25)];
    const json = parseLlamaBench(JSON.stringify(tests, null, 2));
    assert.deepEqual(json.problems, []);
    assert.deepEqual(json.records.map((r) => [llamaBenchTestName(r), r.avg_ts, r.n_threads, r.type_k]), [['pp512', 180.5, 2, 'f16'], ['tg128', 21.25, 2, 'f16']]);
    const jsonl = parseLlamaBench(`${tests.map((t) => JSON.stringify(t)).join('\n')}\n`);
    assert.deepEqual(jsonl.records, json.records);
  });

  it('names tests as llama-bench does', () => {
    assert.equal(llamaBenchTestName({ n_prompt: 512, n_gen: 0 }), 'pp512');
    assert.equal(llamaBenchTestName({ n_prompt: 0, n_gen: 128 }), 'tg128');
    assert.equal(llamaBenchTestName({ n_prompt: 512, n_gen: 128 }), 'pp512+tg128');
    assert.equal(llamaBenchTestName({ n_prompt: 0, n_gen: 128, n_depth: 4096 }), 'tg128 @ d4096');
  });

  it('reports what is wrong and keeps the tests that read', () => {
    const bad = { ...llamaBenchRecord(0, 128, 20), avg_ts: 'fast' };
    const r = parseLlamaBench(`${JSON.stringify(llamaBenchRecord(512, 0, 100))}\nnot json\n${JSON.stringify(bad)}\n`);
    assert.equal(r.records.length, 1);
    assert.deepEqual(r.problems.length, 2);
    assert.match(r.problems[0], /line 2 is not JSON/);
    assert.match(r.problems[1], /test 3: avg_ts/);
    assert.match(parseLlamaBench('[{"n_prompt": 1,').problems[0], /^not JSON: .*-o json writes an array/);
    assert.deepEqual(parseLlamaBench('[]').problems, ['no test in the file']);
    assert.match(parseLlamaBench('x'.repeat(9 * 1024 * 1024)).problems[0], /over 8 MiB/);
  });
});
