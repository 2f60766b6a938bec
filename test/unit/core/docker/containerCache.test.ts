// Unit tests for NdjsonEventParser in src/core/docker/containerCache.ts (split-stream properties included).
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { EngineEvent, NdjsonEventParser } from '../../../../src/core/docker/containerCache';

function parse(chunks: (Buffer | string)[]): { events: EngineEvent[]; bad: string[] } {
  const events: EngineEvent[] = [];
  const bad: string[] = [];
  const p = new NdjsonEventParser(
    (e) => events.push(e),
    (l) => bad.push(l),
  );
  for (const c of chunks) p.push(c);
  return { events, bad };
}

function splitString(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(s.slice(prev, p));
    prev = p;
  }
  parts.push(s.slice(prev));
  return parts;
}

function splitBuffer(b: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(b.subarray(prev, p));
    prev = p;
  }
  parts.push(b.subarray(prev));
  return parts;
}

const startEvent = {
  status: 'start',
  id: 'abc123',
  from: 'ollama/ollama',
  Type: 'container',
  Action: 'start',
  Actor: { ID: 'abc123', Attributes: { image: 'ollama/ollama', name: 'ollama' } },
  scope: 'local',
  time: 1736942400,
  timeNano: 1736942400123456789,
};

const eventArb = fc.record(
  {
    Type: fc.constantFrom('container', 'image', 'network'),
    Action: fc.constantFrom('create', 'start', 'die', 'destroy', 'exec_start: /bin/sh -c true', 'health_status: healthy'),
    id: fc.stringMatching(/^[0-9a-f]{12}$/),
    Actor: fc.record({
      ID: fc.stringMatching(/^[0-9a-f]{12}$/),
      Attributes: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 16 }), { maxKeys: 4, noNullPrototype: true }),
    }, { noNullPrototype: true }),
    time: fc.integer({ min: 0, max: 2_000_000_000 }),
  },
  { requiredKeys: ['Action'], noNullPrototype: true },
);

describe('engine event parser (unit)', () => {
  it('parses one event per line and keeps the fields it does not name', () => {
    const { events, bad } = parse([JSON.stringify(startEvent) + '\n']);
    assert.deepEqual(bad, []);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], startEvent);
  });

  it('holds a partial line until its newline arrives', () => {
    const events: EngineEvent[] = [];
    const p = new NdjsonEventParser(
      (e) => events.push(e),
      () => assert.fail('no bad line expected'),
    );
    const line = JSON.stringify(startEvent);
    p.push(line.slice(0, 20));
    p.push(line.slice(20));
    assert.equal(events.length, 0);
    p.push('\n{"Action":"die"');
    assert.equal(events.length, 1);
    p.push('}\n');
    assert.deepEqual(
      events.map((e) => e.Action),
      ['start', 'die'],
    );
  });

  it('skips blank lines and tolerates CRLF and surrounding spaces', () => {
    const { events, bad } = parse(['\n\n  {"Action":"start","id":"a"}  \r\n\r\n{"Action":"stop","id":"b"}\n']);
    assert.deepEqual(bad, []);
    assert.deepEqual(events, [
      { Action: 'start', id: 'a' },
      { Action: 'stop', id: 'b' },
    ]);
  });

  it('reports lines that are not JSON and goes on', () => {
    const { events, bad } = parse(['{"Action":"start"}\nnot json at all\n{"Action":"stop"}\n']);
    assert.deepEqual(bad, ['not json at all']);
    assert.deepEqual(
      events.map((e) => e.Action),
      ['start', 'stop'],
    );
  });

  it('reports JSON lines that are not event objects', () => {
    const { events, bad } = parse(['[1,2]\n"text"\nnull\n{"Type":5}\n{"Actor":{"Attributes":{"a":1}}}\n{"time":"yesterday"}\n{}\n']);
    assert.deepEqual(bad, ['[1,2]', '"text"', 'null', '{"Type":5}', '{"Actor":{"Attributes":{"a":1}}}', '{"time":"yesterday"}']);
    assert.deepEqual(events, [{}]);
  });

  it('accepts null Attributes (Podman)', () => {
    const { events, bad } = parse(['{"Type":"container","Action":"start","Actor":{"ID":"x","Attributes":null}}\n']);
    assert.deepEqual(bad, []);
    assert.equal(events[0].Actor?.Attributes, null);
  });

  it('keeps a multi-byte character split across two Buffer chunks', () => {
    const bytes = Buffer.from('{"Action":"start","Actor":{"ID":"x","Attributes":{"name":"café-ü€😀"}}}\n', 'utf8');
    const at = bytes.indexOf(Buffer.from('€', 'utf8')) + 1;
    const { events, bad } = parse([bytes.subarray(0, at), bytes.subarray(at)]);
    assert.deepEqual(bad, []);
    assert.equal(events[0].Actor?.Attributes?.name, 'café-ü€😀');
  });

  it('yields the same events however the text is split (property)', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 }), (evs, cuts) => {
        const text = evs.map((e) => JSON.stringify(e) + '\n').join('');
        const whole = parse([text]);
        assert.deepEqual(whole.bad, []);
        assert.deepEqual(whole.events, evs);
        assert.deepEqual(parse(splitString(text, cuts)), whole);
      }),
    );
  });

  it('yields the same events however the byte stream is split (property)', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 }), (evs, cuts) => {
        const bytes = Buffer.from(evs.map((e) => JSON.stringify(e) + '\n').join(''), 'utf8');
        assert.deepEqual(parse(splitBuffer(bytes, cuts)), { events: evs, bad: [] });
      }),
    );
  });

  it('reports the same bad lines however the stream is split (property)', () => {
    const line = fc.oneof(
      eventArb.map((e) => JSON.stringify(e)),
      fc.constantFrom('garbage', '{"Type":1}', '[]', '{"Action": '),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 }), (lines, cuts) => {
        const text = lines.map((l) => l + '\n').join('');
        assert.deepEqual(parse(splitString(text, cuts)), parse([text]));
      }),
    );
  });
});
