// Unit tests for src/shared/metricsProtocol.ts: the messages between the metrics panel and the
// extension, their limits, and parseMessage's reasons (it must never throw, whatever arrives).
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromPanelSchema, parseMessage, toPanelSchema, type FromPanel, type ToPanel } from '../../../src/shared/metricsProtocol';

const cpu = { key: 'host.cpu', group: 'host', entity: 'this machine', entityId: 'host', metric: 'cpu', unit: '%' } as const;
const mem = { key: 'container.abc.memory', group: 'container', entity: 'ollama', entityId: 'abc', metric: 'memory', unit: 'bytes', max: 8 * 2 ** 30 } as const;

function init(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'init',
    windowMinutes: 5,
    paused: false,
    gpu: { kind: 'absent', message: 'nvidia-smi was not found on PATH' },
    series: [cpu, mem],
    t: [1_700_000_000_000, 1_700_000_001_000],
    columns: [
      [12.5, null],
      [1024, 2048],
    ],
    ...over,
  };
}

function append(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'append', t: 1_700_000_002_000, added: [], removed: [], values: { 'host.cpu': 7 }, ...over };
}

function rejected(schema: typeof toPanelSchema | typeof fromPanelSchema, raw: unknown): string {
  const r = parseMessage(schema, raw);
  assert.equal(r.ok, false, `expected ${JSON.stringify(raw)?.slice(0, 200)} to be refused`);
  return (r as { reason: string }).reason;
}

describe('metrics protocol (unit)', () => {
  describe('valid messages', () => {
    it('accepts every message to the panel', () => {
      const messages: ToPanel[] = [
        init() as ToPanel,
        init({ gpu: { kind: 'ok', gpus: 2 }, series: [], t: [], columns: [], paused: true, windowMinutes: 60 }) as ToPanel,
        append({ added: [mem], removed: ['container.old.cpu'], values: { 'host.cpu': 0, 'container.abc.memory': 1e12 } }) as ToPanel,
        { type: 'gpu', gpu: { kind: 'error', message: 'NVML: driver/library version mismatch' } },
        { type: 'error', message: 'Reading the metrics failed' },
      ];
      for (const m of messages) {
        const r = parseMessage(toPanelSchema, m);
        assert.ok(r.ok, r.ok ? '' : r.reason);
        assert.deepEqual(r.message, m);
      }
    });

    it('accepts every message from the panel', () => {
      const messages: FromPanel[] = [
        { type: 'ready' },
        { type: 'setWindow', windowMinutes: 1 },
        { type: 'setWindow', windowMinutes: 15 },
        { type: 'pause', paused: true },
        { type: 'copySnapshot' },
        { type: 'frameStats', frames: 120, p50Ms: 1.25, p95Ms: 3.5 },
      ];
      for (const m of messages) {
        const r = parseMessage(fromPanelSchema, m);
        assert.ok(r.ok, r.ok ? '' : r.reason);
        assert.deepEqual(r.message, m);
      }
    });

    it('null marks a missing point in a column', () => {
      assert.ok(parseMessage(toPanelSchema, init({ columns: [[null, null], [null, 1]] })).ok);
    });
  });

  describe('invalid messages, with the field named in the reason', () => {
    it('an unknown or missing type', () => {
      assert.match(rejected(fromPanelSchema, { type: 'reload' }), /^message "reload" rejected: type: /);
      assert.match(rejected(toPanelSchema, { windowMinutes: 5 }), /^message "object" rejected: type: /);
      // a message the other side sends is not valid in this direction
      assert.match(rejected(fromPanelSchema, init()), /^message "init" rejected: type: /);
      assert.match(rejected(toPanelSchema, { type: 'ready' }), /^message "ready" rejected: type: /);
    });

    it('a value that is not a message at all', () => {
      for (const raw of [null, undefined, 42, 'ready', true, [], [{ type: 'ready' }]]) {
        const reason = rejected(fromPanelSchema, raw);
        assert.match(reason, /^message "[a-z]+" rejected: /);
      }
    });

    it('a window outside 1, 5, 15, 60 minutes', () => {
      for (const windowMinutes of [0, 2, 30, 5.5, '5', null]) {
        assert.match(rejected(fromPanelSchema, { type: 'setWindow', windowMinutes }), /rejected: windowMinutes: /);
      }
      assert.match(rejected(toPanelSchema, init({ windowMinutes: 10 })), /rejected: windowMinutes: /);
    });

    it('NaN and infinities are refused wherever a number goes', () => {
      assert.match(rejected(toPanelSchema, init({ columns: [[NaN, 1], [1, 2]] })), /rejected: columns\.0\.0: /);
      assert.match(rejected(toPanelSchema, init({ columns: [[1, 2], [1, Infinity]] })), /rejected: columns\.1\.1: /);
      assert.match(rejected(toPanelSchema, init({ t: [1, NaN] })), /rejected: t\.1: /);
      assert.match(rejected(toPanelSchema, append({ t: NaN })), /rejected: t: /);
      assert.match(rejected(toPanelSchema, append({ values: { 'host.cpu': NaN } })), /rejected: values\.host\.cpu: /);
      assert.match(rejected(toPanelSchema, append({ values: { 'host.cpu': -Infinity } })), /rejected: values\.host\.cpu: /);
      assert.match(rejected(toPanelSchema, init({ series: [{ ...mem, max: Infinity }] })), /rejected: series\.0\.max: /);
      assert.match(rejected(fromPanelSchema, { type: 'frameStats', frames: 3, p50Ms: NaN, p95Ms: 1 }), /rejected: p50Ms: /);
      assert.match(rejected(fromPanelSchema, { type: 'frameStats', frames: 3, p50Ms: 1, p95Ms: Infinity }), /rejected: p95Ms: /);
    });

    it('huge arrays are refused before anything walks them', () => {
      const many = (n: number, v: unknown) => Array.from({ length: n }, () => v);
      assert.match(rejected(toPanelSchema, init({ t: many(100_001, 1), columns: [] , series: [] })), /rejected: t: /);
      assert.match(rejected(toPanelSchema, init({ series: many(2001, cpu), columns: [] })), /rejected: series: /);
      assert.match(rejected(toPanelSchema, init({ columns: many(2001, []) })), /rejected: columns: /);
      assert.match(rejected(toPanelSchema, append({ added: many(2001, cpu) })), /rejected: added: /);
      assert.match(rejected(toPanelSchema, append({ removed: many(2001, 'x') })), /rejected: removed: /);
      // at the limit it still passes
      assert.ok(parseMessage(toPanelSchema, init({ t: many(100_000, 1), series: [], columns: [] })).ok);
    });

    it('strings beyond their limits, and empty keys', () => {
      assert.match(rejected(toPanelSchema, init({ series: [{ ...cpu, entity: 'x'.repeat(301) }] })), /rejected: series\.0\.entity: /);
      assert.match(rejected(toPanelSchema, init({ series: [{ ...cpu, key: '' }] })), /rejected: series\.0\.key: /);
      assert.match(rejected(toPanelSchema, { type: 'error', message: 'x'.repeat(2001) }), /rejected: message: /);
      assert.match(rejected(toPanelSchema, { type: 'gpu', gpu: { kind: 'absent', message: 'x'.repeat(1001) } }), /rejected: gpu\.message: /);
    });

    it('wrong enums and kinds', () => {
      assert.match(rejected(toPanelSchema, init({ series: [{ ...cpu, unit: 'MB' }] })), /rejected: series\.0\.unit: /);
      assert.match(rejected(toPanelSchema, init({ series: [{ ...cpu, group: 'cluster' }] })), /rejected: series\.0\.group: /);
      assert.match(rejected(toPanelSchema, { type: 'gpu', gpu: { kind: 'maybe' } }), /rejected: gpu\.kind: /);
      assert.match(rejected(toPanelSchema, { type: 'gpu', gpu: { kind: 'ok', gpus: -1 } }), /rejected: gpu\.gpus: /);
      assert.match(rejected(fromPanelSchema, { type: 'pause', paused: 'yes' }), /rejected: paused: /);
      assert.match(rejected(fromPanelSchema, { type: 'frameStats', frames: 1.5, p50Ms: 1, p95Ms: 2 }), /rejected: frames: /);
      assert.match(rejected(fromPanelSchema, { type: 'frameStats', frames: -1, p50Ms: 1, p95Ms: 2 }), /rejected: frames: /);
    });

    it('a long or odd type is cut in the reason', () => {
      const reason = rejected(fromPanelSchema, { type: 'x'.repeat(5000) });
      assert.ok(reason.length < 300, reason);
      assert.match(rejected(fromPanelSchema, { type: 12 }), /^message "12" rejected: type: /);
    });
  });

  describe('properties', () => {
    const schemas = [toPanelSchema, fromPanelSchema] as const;
    const types = ['init', 'append', 'gpu', 'error', 'ready', 'setWindow', 'pause', 'copySnapshot', 'frameStats', 'toString', '__proto__'];

    function checkResult(raw: unknown): void {
      for (const schema of schemas) {
        const r = parseMessage(schema, raw);
        if (r.ok) assert.equal(typeof r.message, 'object');
        else {
          assert.equal(typeof r.reason, 'string');
          assert.match(r.reason, /^message ".*" rejected: /s);
        }
      }
    }

    it('parseMessage never throws on arbitrary input and always gives a reason', () => {
      // What postMessage can carry (structured clone): plain values, plain objects and arrays.
      fc.assert(fc.property(fc.anything({ maxDepth: 4, withBoxedValues: false, withNullPrototype: false }), checkResult), { numRuns: 500 });
    });

    it('parseMessage never throws on message-like objects with arbitrary fields', () => {
      const messageLike = fc
        .tuple(fc.constantFrom(...types), fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 3, withNullPrototype: false })))
        .map(([type, rest]) => ({ ...rest, type }));
      fc.assert(fc.property(messageLike, checkResult), { numRuns: 500 });
    });

    // A `type` with no usable toString/valueOf survives postMessage: the handler must still not throw.
    it('parseMessage never throws on a type that cannot be turned into a string', () => {
      for (const type of [{ toString: 0, valueOf: 0 }, Object.create(null) as object]) {
        for (const schema of schemas) assert.equal(parseMessage(schema, { type }).ok, false);
      }
      fc.assert(fc.property(fc.anything({ maxDepth: 3, withNullPrototype: true }), (type) => checkResult({ type })), { numRuns: 300 });
    });

    it('valid appends are accepted unchanged', () => {
      const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
      const arb = fc.record({
        type: fc.constant('append' as const),
        t: finite,
        added: fc.constant([]),
        removed: fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }),
        values: fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }).filter((k) => k !== '__proto__'), finite, { maxKeys: 20 }),
      });
      fc.assert(
        fc.property(arb, (m) => {
          const r = parseMessage(toPanelSchema, m);
          assert.ok(r.ok, r.ok ? '' : r.reason);
          // structuredClone: what postMessage delivers (and plain prototypes, as zod returns)
          assert.deepEqual(r.message, structuredClone(m));
        }),
        { numRuns: 300 },
      );
    });

    it('a non-finite value anywhere in an append is refused', () => {
      const bad = fc.constantFrom(NaN, Infinity, -Infinity);
      fc.assert(
        fc.property(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '__proto__'), bad, (key, v) => {
          assert.equal(parseMessage(toPanelSchema, append({ values: { ok: 1, [key]: v } })).ok, false);
          assert.equal(parseMessage(toPanelSchema, append({ t: v })).ok, false);
        }),
      );
    });
  });
});
