// Image glob matching (llmStack.runtimes.imagePatterns): examples, the many-star patterns a regular
// expression backtracks on, and a property test against a regular-expression reference on small inputs.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { createClassifier } from '../../../../src/core/docker/containers';
import { globMatch } from '../../../../src/core/docker/imageGlob';

/** The reference: the glob as an anchored regular expression (fine on small inputs only). */
function reference(pattern: string, text: string): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's').test(text);
}

describe('image glob matching (unit)', () => {
  it('* stands for any run of characters, none included; everything else for itself', () => {
    const cases: [string, string, boolean][] = [
      ['', '', true],
      ['', 'a', false],
      ['*', '', true],
      ['*', 'anything/at:all', true],
      ['**', '', true],
      ['ollama/*', 'ollama/ollama', true],
      ['ollama/*', 'ollama/', true],
      ['ollama/*', 'ollama', false],
      ['*/text-gen*', 'quay.io/acme/text-generation', true],
      ['*/text-gen*', 'text-generation', false],
      ['a.b/c+d*', 'a.b/c+d-x', true],
      ['a.b/c+d*', 'aXb/c+d', false],
      ['a*b*c', 'abc', true],
      ['a*b*c', 'aXbYc', true],
      ['a*b*c', 'aXbYcZ', false],
      ['a*b*c', 'acb', false],
      ['*ab', 'aab', true],
      ['*ab*ab', 'abaabab', true],
      ['a*', 'b', false],
    ];
    for (const [pattern, text, expected] of cases) assert.equal(globMatch(pattern, text), expected, `${pattern} vs ${text}`);
  });

  it('many stars against a long name that almost matches: the right answer (a regular expression backtracks for seconds here)', () => {
    const name = 'a'.repeat(60);
    assert.equal(globMatch('*a*a*a*a*a*a*a*b', name), false);
    assert.equal(globMatch('*a*a*a*a*a*a*a*a', name), true);
    assert.equal(globMatch('*'.repeat(30) + 'b', name), false);
    assert.equal(globMatch('*a'.repeat(61), name), false, 'more letters than the name has');
    assert.equal(globMatch('*a'.repeat(60), name), true);
    // The same through the classifier that reads the setting.
    const classifier = createClassifier({ '*a*a*a*a*a*a*a*b': 'vllm', '*a*a*a*a*a*a*a*a*': 'tgi' });
    assert.equal(classifier.classify({ image: `${'a'.repeat(59)}b`, labels: {} }), 'vllm');
    assert.equal(classifier.classify({ image: name, labels: {} }), 'tgi');
    assert.equal(createClassifier({ '*a*a*a*a*a*a*a*b': 'vllm' }).classify({ image: name, labels: {} }), undefined);
  });

  it('agrees with the regular-expression reference on small inputs (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '.', '/', ':');
    const text = fc.array(alphabet, { maxLength: 12 }).map((c) => c.join(''));
    const pattern = fc.array(fc.oneof(alphabet, fc.constant('*')), { maxLength: 10 }).map((c) => c.join(''));
    fc.assert(fc.property(pattern, text, (p, t) => globMatch(p, t) === reference(p, t)), { numRuns: 2000 });
  });

  it('a pattern with stars matches every text built by filling its stars in (property)', () => {
    const piece = fc.string({ maxLength: 5 }).map((s) => s.replace(/\*/g, ''));
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 8 }), (parts, fills) => {
        const pattern = parts.join('*');
        const text = parts.map((p, i) => (i === 0 ? p : (fills[i - 1] ?? '') + p)).join('');
        assert.ok(globMatch(pattern, text), `${pattern} vs ${text}`);
      }),
    );
  });
});
