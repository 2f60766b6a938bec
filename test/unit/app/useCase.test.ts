// Unit tests for src/app/useCase.ts: input and output validated, the signal checked first.
import * as assert from 'node:assert/strict';
import { z } from 'zod';
import { call, Cancelled, defineUseCase, InvalidInput } from '../../../src/app/useCase';

const add = defineUseCase({
  name: 'test.add',
  summary: 'Adds two numbers.',
  input: z.object({ a: z.number(), b: z.number().default(1) }),
  output: z.object({ sum: z.number().int() }),
  run: async (deps: { calls: number[] }, input, o) => {
    deps.calls.push(input.a);
    o.progress?.({ message: 'adding', fraction: 0.5 });
    return { sum: input.a + input.b };
  },
});

describe('use case (unit)', () => {
  it('runs with the parsed input (defaults applied) and reports progress', async () => {
    const deps = { calls: [] as number[] };
    const seen: unknown[] = [];
    assert.deepEqual(await call(add, deps, { a: 2 }, { progress: (p) => seen.push(p) }), { sum: 3 });
    assert.deepEqual(deps.calls, [2]);
    assert.deepEqual(seen, [{ message: 'adding', fraction: 0.5 }]);
  });

  it('refuses input of the wrong shape with every problem named, and runs nothing', async () => {
    const deps = { calls: [] as number[] };
    const e = await call(add, deps, { a: 'two' } as never).then(() => undefined, (x: unknown) => x);
    assert.ok(e instanceof InvalidInput);
    assert.equal(e.useCase, 'test.add');
    assert.match(e.message, /^test\.add: a: .*number/);
    assert.deepEqual(deps.calls, []);
  });

  it('does not start when the signal is already aborted', async () => {
    const deps = { calls: [] as number[] };
    await assert.rejects(call(add, deps, { a: 1 }, { signal: AbortSignal.abort() }), (e: unknown) => e instanceof Cancelled && /test\.add was cancelled/.test(e.message));
    assert.deepEqual(deps.calls, []);
  });

  it('refuses an output that breaks its schema (a use case cannot return what it does not document)', async () => {
    await assert.rejects(call(add, { calls: [] }, { a: 0.5 }), /sum/);
  });
});
