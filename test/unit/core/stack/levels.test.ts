// Start levels of a stack's services: each level depends only on earlier ones, in file order within
// a level; a missing service or a cycle is an error; a long chain is no slower than a wide stack.
import * as assert from 'node:assert/strict';
import { dependencyLevels } from '../../../../src/core/stack/normalize';

describe('stack dependency levels (unit)', () => {
  it('puts each service one level after its deepest dependency, in map order within a level', () => {
    const levels = dependencyLevels(
      new Map([
        ['ui', ['api', 'db']],
        ['api', ['db']],
        ['db', []],
        ['cache', []],
        ['worker', ['db', 'db']],
      ]),
    );
    assert.deepEqual(levels, [['db', 'cache'], ['api', 'worker'], ['ui']]);
  });

  it('orders a chain of 20,000 services one per level', () => {
    const n = 20_000;
    const deps = new Map(Array.from({ length: n }, (_, i) => [`s${i}`, i === 0 ? [] : [`s${i - 1}`]]));
    const levels = dependencyLevels(deps);
    assert.equal(levels.length, n);
    assert.deepEqual(levels[n - 1], [`s${n - 1}`]);
  });

  it('rejects a missing service and a cycle, naming at most ten services', () => {
    assert.throws(() => dependencyLevels(new Map([['a', ['b']]])), /^Error: Service "a" depends on "b", which is not in the stack\./);
    assert.throws(() => dependencyLevels(new Map([['x', []], ['a', ['b']], ['b', ['a']], ['c', ['a']]])), /^Error: The services "a", "b", "c" depend on each other in a cycle\.$/);
    const ring = new Map(Array.from({ length: 30 }, (_, i) => [`s${i}`, [`s${(i + 1) % 30}`]]));
    assert.throws(() => dependencyLevels(ring), /"s9" and 20 more depend on each other in a cycle\.$/);
  });
});
