// Hostile stack files (the editor parses them on open, in Restricted Mode too): floods of problems
// are capped with a last diagnostic counting the rest, oversized files and deep nesting get one
// clear error, aliases cannot explode, and long keys stay short in messages. Time is measured by
// bench/hardening.ts, not here.
import * as assert from 'node:assert/strict';
import { flowTooDeepAt, loadStackFile, MAX_STACK_DEPTH, MAX_STACK_FILE_BYTES, MORE_PROBLEMS_CODE, parseStackDocument, StackFileError } from '../../../../src/core/stack/document';
import type { StackDiagnostic, StackRange } from '../../../../src/core/stack/types';
import { MAX_PROBLEMS } from '../../../../src/core/stack/validate';

function at(r: StackRange | undefined): string {
  return r ? `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}` : 'none';
}

const HEAD = 'name: demo\nruntimes:\n  a:\n    kind: other\n    image: x\n';
const repeat = (count: number, line: (i: number) => string) => Array.from({ length: count }, (_, i) => line(i)).join('');

/** The capped list: MAX_PROBLEMS diagnostics, then the one that counts the rest. */
function assertCapped(diags: readonly StackDiagnostic[], notShown: number): void {
  assert.equal(diags.length, MAX_PROBLEMS + 1);
  const last = diags[diags.length - 1];
  assert.equal(last.code, MORE_PROBLEMS_CODE);
  assert.equal(last.severity, 'info');
  assert.equal(last.message, `…and ${notShown.toLocaleString('en-US')} more problems not shown (the editor lists ${MAX_PROBLEMS} per stack file, errors first). Fix these first.`);
  assert.equal(diags.filter((d) => d.code === MORE_PROBLEMS_CODE).length, 1);
}

describe('stack document: hostile files (unit)', () => {
  describe('floods of problems', () => {
    // The reported file: 36 KB, 2,000 copies of one port (the old checks made 3,998,000 diagnostics).
    const ports2000 = `${HEAD}    ports:\n${repeat(2000, () => '      - "8080:80"\n')}`;

    it('lists the first 200 of 2,000 identical ports and counts the rest in a last diagnostic', () => {
      const doc = parseStackDocument(ports2000);
      assertCapped(doc.diagnostics, 1800);
      assert.equal(doc.file, undefined);
      const shown = doc.diagnostics.slice(0, -1);
      assert.ok(shown.every((d) => d.code === 'duplicate-port'));
      // The duplicate is still reported at both places, each naming the other, once per entry.
      assert.equal(at(shown[0].range), '6:8-6:17');
      assert.equal(
        shown[0].message,
        'Host port 8080/tcp is also published by another entry of this service (runtimes.a.ports[1]) and 1998 more entries: two containers cannot bind the same host port. Change one of the host ports, e.g. "8081:80".',
      );
      assert.equal(at(shown[1].range), '7:8-7:17');
      assert.match(shown[1].message, /^Host port 8080\/tcp is also published by another entry of this service \(runtimes\.a\.ports\[0\]\) and 1998 more entries: /);
      assert.deepEqual(
        shown.slice(0, 3).map((d) => d.path),
        [0, 1, 2].map((i) => ['runtimes', 'a', 'ports', i]),
      );
    });

    it('caps the same flood in a JSON file', () => {
      const json = JSON.stringify({ name: 'demo', runtimes: { a: { kind: 'other', image: 'x', ports: Array(500).fill('8080:80') } } });
      assertCapped(parseStackDocument(json, 'json').diagnostics, 300);
    });

    it('caps 100 services x 20 missing dependencies, with short suggestions', () => {
      const text = `name: demo\nuis:\n${repeat(100, (i) => `  svc${i}:\n    image: x\n    dependsOn: [${repeat(20, (j) => `${j ? ', ' : ''}dep${i}-${j}`)}]\n`)}`;
      const doc = parseStackDocument(text);
      assertCapped(doc.diagnostics, 1800);
      const first = doc.diagnostics[0];
      assert.equal(first.code, 'missing-dependency');
      assert.equal(at(first.range), '4:16-4:22');
      assert.equal(
        first.message,
        'Service "svc0" depends on "dep0-0", which is not in this stack. Services you can name here: "svc0", "svc1", "svc2", "svc3", "svc4", "svc5", "svc6", "svc7", "svc8", "svc9" and 90 more.',
      );
    });

    it('caps 5,000 unknown keys (the reported 20,000 are over the size bound), each shown one at its key', () => {
      const doc = parseStackDocument(`name: demo\n${repeat(5_000, (i) => `key${i}: 1\n`)}`);
      assertCapped(doc.diagnostics, 4_800);
      assert.equal(doc.diagnostics[0].message, 'Unknown key "key0" at the top level. Allowed keys: version, name, runtimes, uis.');
      assert.equal(at(doc.diagnostics[0].range), '1:0-1:4');
      assert.equal(at(doc.diagnostics[199].range), '200:0-200:6');
    });

    it('caps repeated keys, still naming the line of the first', () => {
      const doc = parseStackDocument(`${HEAD}    env:\n${repeat(1000, () => '      K: "1"\n')}`);
      assertCapped(doc.diagnostics, 999 - MAX_PROBLEMS);
      assert.equal(doc.diagnostics[0].message, 'Duplicate key "K": it is already set on line 7. Keep one of the two (a mapping holds each key once).');
      assert.deepEqual(doc.diagnostics[0].path, ['runtimes', 'a', 'env', 'K']);
      assert.equal(at(doc.diagnostics[0].range), '7:6-7:7');
    });

    it('caps a file of YAML syntax errors', () => {
      const doc = parseStackDocument(`name: demo\n${repeat(1000, () => '- ]\n')}`);
      assert.equal(doc.diagnostics.length, MAX_PROBLEMS + 1);
      assert.ok(doc.diagnostics.slice(0, -1).every((d) => d.code === 'yaml' && d.severity === 'error'));
      assert.equal(doc.diagnostics[MAX_PROBLEMS].code, MORE_PROBLEMS_CODE);
    });

    it('keeps an error listed when warnings alone would fill the list', () => {
      // 300 ports open to the network (warnings) come before the one missing runtime (an error).
      const text = `${HEAD}    ports:\n${repeat(300, (i) => `      - "0.0.0.0:${10_000 + i}:80"\n`)}uis:\n  web:\n    image: w\n    runtime: nothere\n`;
      const doc = parseStackDocument(text);
      assertCapped(doc.diagnostics, 101);
      const errors = doc.diagnostics.filter((d) => d.severity === 'error');
      assert.deepEqual(
        errors.map((d) => d.code),
        ['missing-dependency'],
      );
      assert.equal(doc.diagnostics.filter((d) => d.code === 'public-port').length, MAX_PROBLEMS - 1);
      assert.equal(doc.file, undefined);
    });

    it('writes a long dependency cycle short, for each service on it, capped', () => {
      const n = 1000;
      const doc = parseStackDocument(`name: demo\nruntimes:\n${repeat(n, (i) => `  s${i}: {kind: other, image: x, dependsOn: [s${(i + 1) % n}]}\n`)}`);
      assertCapped(doc.diagnostics, n - MAX_PROBLEMS);
      assert.equal(
        doc.diagnostics[0].message,
        'Dependency cycle: s0 → s1 → s2 → s3 → s4 → s5 → … 992 more … → s998 → s999 → s0 (1000 services). None of these services can start first; remove one of these dependencies.',
      );
      assert.equal(at(doc.diagnostics[1].range), '3:42-3:44', 'at s1\'s dependsOn entry');
    });

    it('names the problems left out in the StackFileError too', () => {
      assert.throws(
        () => loadStackFile(ports2000),
        (e: unknown) => e instanceof StackFileError && e.message.endsWith('\n  …and 195 more\n  …and 1,800 more problems not shown (the editor lists 200 per stack file, errors first). Fix these first.'),
      );
    });
  });

  describe('bounds', () => {
    it('gives a file over the size bound one clear error instead of parsing it', () => {
      // A valid stack, padded with comments past the bound.
      const text = `${HEAD}${repeat(Math.ceil(MAX_STACK_FILE_BYTES / 40), () => '# padding padding padding padding paddi\n')}`;
      const doc = parseStackDocument(text);
      assert.equal(doc.diagnostics.length, 1);
      const d = doc.diagnostics[0];
      assert.equal(d.severity, 'error');
      assert.equal(d.code, 'too-large');
      assert.equal(
        d.message,
        `This stack file is ${Math.ceil(Buffer.byteLength(text) / 1024).toLocaleString('en-US')} KB, larger than the ${(MAX_STACK_FILE_BYTES / 1024).toLocaleString('en-US')} KB the editor checks, so it is not parsed and cannot be planned or applied. A stack file needs a few KB: split it into smaller stacks or remove what it does not need.`,
      );
      assert.equal(at(d.range), '0:0-0:10');
      assert.equal(doc.file, undefined);
      assert.equal(doc.nodeAt({ line: 0, character: 2 }), undefined);
      assert.throws(
        () => loadStackFile(text),
        (e: unknown) => e instanceof StackFileError && /^The stack file has 1 error:\n {2}1:1 This stack file is /.test(e.message),
      );
    });

    it('counts the size in UTF-8 bytes, as the file on disk', () => {
      // Under the bound in characters, over it in bytes (each "é" is two).
      const text = `${HEAD}    command: "${'é'.repeat(MAX_STACK_FILE_BYTES / 2)}"\n`;
      assert.ok(text.length < MAX_STACK_FILE_BYTES);
      assert.equal(parseStackDocument(text).diagnostics[0]?.code, 'too-large');
      // And a file just under the bound is parsed.
      const under = `${HEAD}    command: "${'x'.repeat(MAX_STACK_FILE_BYTES - HEAD.length - 20)}"\n`;
      assert.ok(Buffer.byteLength(under) <= MAX_STACK_FILE_BYTES);
      const doc = parseStackDocument(under);
      assert.deepEqual(doc.diagnostics, []);
      assert.equal(doc.file?.runtimes?.a.command?.length, MAX_STACK_FILE_BYTES - HEAD.length - 20);
    });

    it('refuses nesting past the depth bound at its first line, and hovers over it without recursing', () => {
      const depth = MAX_STACK_DEPTH + 10;
      const doc = parseStackDocument(`${HEAD}    command: ${'['.repeat(depth)}x${']'.repeat(depth)}\n`);
      assert.equal(doc.diagnostics.length, 1, JSON.stringify(doc.diagnostics));
      const d = doc.diagnostics[0];
      assert.equal(d.code, 'too-deep');
      assert.match(d.message, /^Nested more than 64 levels deep here; .*Flatten this value\.$/);
      assert.equal(d.range.start.line, 5);
      // The command list is 3 levels down: its 62nd nested list is the first past the bound.
      assert.equal(d.range.start.character, 13 + MAX_STACK_DEPTH - 3);
      assert.deepEqual(doc.nodeAt({ line: 5, character: 13 + depth })?.path, ['runtimes', 'a', 'command', ...Array<number>(depth).fill(0)]);
    });

    it('survives nesting 50,000 deep (which overflows yaml itself) with an error and no exception', () => {
      const doc = parseStackDocument(`${HEAD}    command: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
      assert.equal(doc.file, undefined);
      assert.ok(doc.diagnostics.some((d) => d.severity === 'error'));
      assert.ok(doc.diagnostics.length <= MAX_PROBLEMS + 1);
      assert.doesNotThrow(() => doc.nodeAt({ line: 5, character: 30_000 }));
    });
  });

  describe('flow nesting found from the text', () => {
    it('refuses brackets nested far past the bound before parsing, at the first one too deep', () => {
      const doc = parseStackDocument(`${HEAD}    command: ${'['.repeat(1000)}${']'.repeat(1000)}\n`);
      assert.equal(doc.diagnostics.length, 1, JSON.stringify(doc.diagnostics));
      assert.equal(doc.diagnostics[0].code, 'too-deep');
      assert.equal(doc.diagnostics[0].range.start.line, 5);
      assert.equal(doc.diagnostics[0].range.start.character, 13 + 4 * MAX_STACK_DEPTH);
    });

    it('ignores brackets in quotes and comments, and closing brackets without an opening one', () => {
      const many = '['.repeat(4 * MAX_STACK_DEPTH + 1);
      assert.equal(flowTooDeepAt(`a: "${many}"\nb: '${many}'\n# ${many}\nc: x #${many}\nd: ${']'.repeat(500)}\n`), undefined);
      assert.equal(flowTooDeepAt(`a: "\\"${many}"\nb: 'it''s ${many}'\n`), undefined);
      assert.equal(flowTooDeepAt(`a: x#${many}\n`), 5 + 4 * MAX_STACK_DEPTH);
    });
  });

  describe('aliases', () => {
    it('refuses an alias bomb (billion laughs) at the alias that crosses the bound', () => {
      let text = `${HEAD}    command: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n    labels:\n`;
      for (let i = 1; i <= 9; i++) text += `      l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
      const doc = parseStackDocument(text);
      assert.equal(doc.diagnostics.length, 1, JSON.stringify(doc.diagnostics));
      const d = doc.diagnostics[0];
      assert.equal(d.code, 'yaml');
      assert.match(d.message, /^YAML: the aliases \(\*name\) of this file expand to more than [\d,]+ values, far more than a stack file holds \(an alias bomb\?\); write the values out or use fewer aliases\.$/);
      assert.equal(d.range.start.line, 10, 'in l4, the first level whose aliases add more than 10,000 values');
    });

    it('refuses 100 aliases of a 200-item list, and lets 12,000 aliases of one word through to the schema', () => {
      const list = `[${Array(200).fill('x').join(', ')}]`;
      const wide = parseStackDocument(`${HEAD}    command: &c ${list}\n    labels: {l: [${Array(100).fill('*c').join(', ')}]}\n`);
      assert.equal(wide.diagnostics.length, 1);
      assert.match(wide.diagnostics[0].message, /alias bomb/);
      // Each alias of a word adds one value, no more than writing the word: linear, so no bomb.
      const many = parseStackDocument(`${HEAD}    command: &c x\n    labels: {l: [${Array(12_000).fill('*c').join(', ')}]}\n`);
      assert.deepEqual(
        many.diagnostics.map((d) => d.message),
        ['runtimes.a.labels.l: expected a string, got a list.'],
      );
    });

    it('refuses an alias inside the value it names', () => {
      const doc = parseStackDocument(`${HEAD}    labels: &l {x: *l}\n`);
      assert.equal(doc.diagnostics.length, 1);
      assert.equal(doc.diagnostics[0].message, 'YAML: the alias *l is inside the value it names, which would make it endless; write the value out instead.');
      assert.equal(at(doc.diagnostics[0].range), '5:19-5:21');
    });

    it('still shares anchored values through aliases, and merges `<<` keys in YAML 1.1 documents', () => {
      const shared = parseStackDocument(`${HEAD}    env: &e {A: "1"}\n  b: {kind: other, image: y, env: *e}\n`);
      assert.deepEqual(shared.diagnostics, []);
      assert.deepEqual(shared.file?.runtimes?.b.env, { A: '1' });
      const merged = parseStackDocument('%YAML 1.1\n---\nname: demo\nruntimes:\n  a: &a {kind: ollama, image: x, restart: always}\n  b:\n    <<: *a\n    image: img2\n');
      assert.deepEqual(merged.diagnostics, []);
      assert.deepEqual(merged.file?.runtimes?.b, { kind: 'ollama', image: 'img2', restart: 'always' });
      const bad = parseStackDocument('%YAML 1.1\n---\nname: demo\nruntimes:\n  b:\n    <<: [x]\n');
      assert.equal(bad.diagnostics[0].message, 'YAML: merge sources (<<) must be mappings or aliases of mappings.');
      // In YAML 1.2 (the default) `<<` is a key like any other, as yaml reads it.
      assert.match(parseStackDocument(`${HEAD}    <<: {}\n`).diagnostics[0].message, /^Unknown key "<<" in runtimes\.a\./);
    });

    it('never lets a key named __proto__ reach a prototype', () => {
      const doc = parseStackDocument(`${HEAD}    env: {__proto__: {polluted: "yes"}}\n    labels: &l {__proto__: {polluted: "yes"}}\n`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal((doc.file?.runtimes?.a.env as Record<string, unknown> | undefined)?.polluted, undefined);
    });
  });

  describe('long text', () => {
    it('quotes a 50 KB unknown key cut short, with no suggestion work', () => {
      // An explicit key (`? key`): YAML allows implicit keys of 1,024 characters at most.
      const key = 'k'.repeat(50_000);
      const d = parseStackDocument(`name: demo\n? ${key}\n: 1\n`).diagnostics[0];
      assert.equal(d.message, `Unknown key "${'k'.repeat(59)}…" at the top level. Allowed keys: version, name, runtimes, uis.`);
      assert.equal(at(d.range), '1:2-1:50002');
    });

    it('cuts long service names, volumes and addresses in messages', () => {
      const long = 'Q'.repeat(5000);
      const name = parseStackDocument(`name: demo\nruntimes:\n  ? ${long}\n  : {kind: other, image: x}\n`).diagnostics[0];
      assert.ok(name.message.length < 400, name.message);
      assert.match(name.message, /^Invalid name "Q{59}…" in runtimes: /);
      const volume = `v:/${'d'.repeat(5000)}`;
      const vols = parseStackDocument(`${HEAD}    volumes: ["${volume}", "${volume}"]\n`).diagnostics;
      assert.equal(vols.length, 1);
      assert.ok(vols[0].message.length < 400, vols[0].message);
      const ip = parseStackDocument(`${HEAD}    ports: [{container: 1, hostIp: "${'h'.repeat(5000)}"}]\n`).diagnostics;
      assert.ok(ip[0].message.length < 400, ip[0].message);
    });
  });
});
