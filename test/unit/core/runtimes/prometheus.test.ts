// The Prometheus text parser behind OpenAiClient.metrics(): labels, escapes, special values,
// comments, blank lines, timestamps, and lines that are not samples.
import * as assert from 'node:assert/strict';
import { metricValue, parsePrometheus } from '../../../../src/core/runtimes/openai';

describe('Prometheus text parser (unit)', () => {
  it("reads llama.cpp's /metrics, skipping HELP and TYPE comments and blank lines", () => {
    const m = parsePrometheus(
      [
        '# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.',
        '# TYPE llamacpp:prompt_tokens_total counter',
        'llamacpp:prompt_tokens_total 42',
        '',
        '   ',
        '# HELP llamacpp:prompt_tokens_seconds Average prompt throughput in tokens/s.',
        '# TYPE llamacpp:prompt_tokens_seconds gauge',
        'llamacpp:prompt_tokens_seconds 123.456',
        'llamacpp:requests_processing 0',
        'llamacpp:n_decode_total 1.5e3',
        '',
      ].join('\n'),
    );
    assert.deepEqual([...m], [
      ['llamacpp:prompt_tokens_total', 42],
      ['llamacpp:prompt_tokens_seconds', 123.456],
      ['llamacpp:requests_processing', 0],
      ['llamacpp:n_decode_total', 1500],
    ]);
  });

  it('keys labelled series by name{labels} and sums them by name', () => {
    const m = parsePrometheus(
      [
        'vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-0.5B"} 2.0',
        'vllm:num_requests_running{engine="1",model_name="Qwen/Qwen2.5-0.5B"} 3',
        'vllm:num_requests_running_extra 100',
        'http_requests_total { method = "post" , code="200", } 1027 1395066363000',
        'empty_labels{} 7',
      ].join('\r\n'),
    );
    assert.equal(m.get('vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-0.5B"}'), 2);
    assert.equal(m.get('http_requests_total{method="post",code="200"}'), 1027, 'spaces and a trailing comma are tolerated; the timestamp is ignored');
    assert.equal(m.get('empty_labels'), 7);
    assert.equal(metricValue(m, 'vllm:num_requests_running'), 5, 'a longer name with the same prefix is another metric');
    assert.equal(metricValue(m, 'missing'), undefined);
  });

  it('unescapes quotes, backslashes and newlines in label values, and keys them escaped', () => {
    const m = parsePrometheus('msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9\nbraces{v="a}b,c=\\"d\\""} 1');
    assert.deepEqual([...m.keys()], ['msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""}', 'braces{v="a}b,c=\\"d\\""}']);
    assert.equal(m.get('msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""}'), 1458255915);
  });

  it('reads NaN, +Inf and -Inf, and histogram buckets labelled le="+Inf"', () => {
    const m = parsePrometheus(['a NaN', 'b +Inf', 'c -Inf', 'd Inf', 'h_bucket{le="0.5"} 3', 'h_bucket{le="+Inf"} 9', 'h_sum 4.5', 'h_count 9'].join('\n'));
    assert.ok(Number.isNaN(m.get('a')));
    assert.equal(m.get('b'), Infinity);
    assert.equal(m.get('c'), -Infinity);
    assert.equal(m.get('d'), Infinity);
    assert.equal(m.get('h_bucket{le="+Inf"}'), 9);
    assert.equal(metricValue(m, 'h_count'), 9);
    assert.ok(Number.isNaN(metricValue(m, 'a')!));
  });

  it('skips lines that are not samples, and ignores OpenMetrics exemplars', () => {
    const m = parsePrometheus(
      [
        'no_value',
        'bad_value abc',
        '{le="1"} 3',
        '9starts_with_digit 1',
        'unclosed{a="b} 1',
        'unquoted{a=b} 1',
        'ok 1',
        'with_exemplar_bucket{le="0.1"} 8 # {trace_id="abc"} 0.05 1520879607.789',
        '# EOF',
      ].join('\n'),
    );
    assert.deepEqual([...m], [
      ['ok', 1],
      ['with_exemplar_bucket{le="0.1"}', 8],
    ]);
  });

  it('keeps the last value of a series that repeats, and reads an empty text as no metrics', () => {
    assert.equal(parsePrometheus('x 1\nx 2').get('x'), 2);
    assert.equal(parsePrometheus('').size, 0);
    assert.equal(parsePrometheus('# only comments\n').size, 0);
  });
});
