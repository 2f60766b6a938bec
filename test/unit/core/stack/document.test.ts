// The stack file parser: syntax and schema errors located at line/column (0-based, UTF-16, as VS
// Code counts), readable union messages, JSON input, path ↔ position lookups, and a property test
// that any valid stack written out by `yaml` reads back as the same object.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { isStackFileName, loadStackFile, parseStackDocument, StackFileError, stackFormatOf } from '../../../../src/core/stack/document';
import type { StackFile } from '../../../../src/core/stack/schema';
import type { StackDiagnostic, StackRange } from '../../../../src/core/stack/types';

/** "line:col-line:col", compact for assertions. */
function at(r: StackRange | undefined): string {
  return r ? `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}` : 'none';
}

function errors(diags: readonly StackDiagnostic[]): StackDiagnostic[] {
  return diags.filter((d) => d.severity === 'error');
}

/** The one diagnostic with this code (fails when there are none or several). */
function only(diags: readonly StackDiagnostic[], code: string): StackDiagnostic {
  const hits = diags.filter((d) => d.code === code);
  assert.equal(hits.length, 1, `expected one "${code}" diagnostic, got: ${JSON.stringify(diags.map((d) => d.message))}`);
  return hits[0];
}

const lines = (...l: string[]) => l.join('\n') + '\n';

const VALID = lines(
  'name: demo', //                       0
  'runtimes:', //                        1
  '  ollama:', //                        2
  '    kind: ollama', //                 3
  '    image: ollama/ollama:latest', //  4
  '    ports:', //                       5
  '      - "11434"', //                  6
  '    params:', //                      7
  '      contextSize: auto', //          8
  'uis:', //                             9
  '  webui:', //                        10
  '    kind: openwebui', //             11
  '    image: ghcr.io/open-webui/open-webui:main', // 12
  '    runtime: ollama', //             13
  '    ports: ["3000:8080"]', //        14
);

describe('stack document (unit)', () => {
  describe('valid files', () => {
    it('returns the parsed file and no diagnostics', () => {
      const doc = parseStackDocument(VALID);
      assert.deepEqual(doc.diagnostics, []);
      assert.equal(doc.format, 'yaml');
      assert.equal(doc.file?.name, 'demo');
      assert.deepEqual(doc.file?.runtimes?.ollama.ports, ['11434']);
      assert.equal(doc.file?.uis?.webui.runtime, 'ollama');
    });

    it('loadStackFile returns the file, and warnings do not make it throw', () => {
      assert.equal(loadStackFile(VALID).name, 'demo');
      const warned = VALID.replace('"11434"', '"0.0.0.0:11434:11434"');
      const doc = parseStackDocument(warned);
      assert.equal(only(doc.diagnostics, 'public-port').severity, 'warning');
      assert.equal(loadStackFile(warned).runtimes?.ollama.ports?.[0], '0.0.0.0:11434:11434');
    });
  });

  describe('schema errors', () => {
    it('puts an unknown key at the key itself, with the close match as a suggestion', () => {
      const doc = parseStackDocument(VALID.replace('    ports:\n      - "11434"', '    prots:\n      - "11434"'));
      const d = only(doc.diagnostics, 'schema');
      assert.equal(d.message, 'Unknown key "prots" in runtimes.ollama. Did you mean "ports"?');
      assert.equal(at(d.range), '5:4-5:9');
      assert.deepEqual(d.path, ['runtimes', 'ollama', 'prots']);
      assert.equal(d.severity, 'error');
      assert.equal(doc.file, undefined);
    });

    it('lists the allowed keys when no key is close', () => {
      const doc = parseStackDocument(VALID.replace('    runtime: ollama', '    gpu: all'));
      const d = only(doc.diagnostics, 'schema');
      assert.match(d.message, /^Unknown key "gpu" in uis\.webui\. Allowed keys: kind, image, ports, .*runtime\.$/);
      assert.equal(at(d.range), '13:4-13:7');
    });

    it('says what a port must look like, and what it got, in one message for the union', () => {
      const doc = parseStackDocument(VALID.replace('- "11434"', '- 8080.5'));
      const d = only(doc.diagnostics, 'schema');
      assert.equal(
        d.message,
        'runtimes.ollama.ports[0]: expected a port such as "8080", "8080:80" or "127.0.0.1:8080:80", or a mapping (container, host, hostIp, protocol), got 8080.5.',
      );
      assert.equal(at(d.range), '6:8-6:14');
    });

    it('says what a shmSize must look like, at the value', () => {
      const doc = parseStackDocument(VALID.replace('    params:', '    shmSize: lots\n    params:'));
      const d = only(doc.diagnostics, 'schema');
      assert.equal(d.message, 'runtimes.ollama.shmSize: expected a size above zero such as "1g", "512m" or a number of bytes, got "lots".');
      assert.equal(at(d.range), '7:13-7:17');
      assert.deepEqual(d.path, ['runtimes', 'ollama', 'shmSize']);
      for (const ok of ['1g', '512m', '"1.5G"', '2gb', '1048576']) {
        assert.deepEqual(parseStackDocument(VALID.replace('    params:', `    shmSize: ${ok}\n    params:`)).diagnostics, [], ok);
      }
      const quotedZero = parseStackDocument(VALID.replace('    params:', '    shmSize: "0g"\n    params:'));
      assert.equal(only(quotedZero.diagnostics, 'schema').message, 'runtimes.ollama.shmSize: expected a size above zero such as "1g", "512m" or a number of bytes, got "0g".');
      const zero = parseStackDocument(VALID.replace('    params:', '    shmSize: 0\n    params:'));
      assert.equal(only(zero.diagnostics, 'schema').message, 'runtimes.ollama.shmSize: expected a positive whole number, or a size above zero such as "1g", "512m" or a number of bytes, got 0.');
    });

    it('reports inside the branch the author meant (a port mapping with a bad field)', () => {
      const doc = parseStackDocument(VALID.replace('- "11434"', '- { container: "x", hots: 1 }'));
      const msgs = errors(doc.diagnostics).map((d) => `${at(d.range)} ${d.message}`);
      assert.deepEqual(msgs, [
        '6:21-6:24 runtimes.ollama.ports[0].container: expected a whole number from 1 to 65535, got "x".',
        '6:26-6:30 Unknown key "hots" in runtimes.ollama.ports[0]. Did you mean "host"?',
      ]);
    });

    it('describes `auto` unions and enums, with a suggestion for a near-miss', () => {
      const doc = parseStackDocument(VALID.replace('contextSize: auto', 'contextSize: 0').replace('kind: ollama', 'kind: olama'));
      const msgs = errors(doc.diagnostics).map((d) => `${at(d.range)} ${d.message}`);
      assert.deepEqual(msgs, [
        '3:10-3:15 runtimes.ollama.kind: expected one of "ollama", "llamacpp", "vllm", "tgi", "localai" or "other", got "olama". Did you mean "ollama"?',
        '8:19-8:20 runtimes.ollama.params.contextSize: expected "auto" or a positive whole number, got 0.',
      ]);
    });

    it('puts a missing `name` on the first line, saying what to write', () => {
      const doc = parseStackDocument(VALID.replace('name: demo\n', ''));
      const d = only(doc.diagnostics, 'schema');
      assert.equal(
        d.message,
        'Missing required key "name" at the top level. Add it, with a name (use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit).',
      );
      assert.deepEqual(d.path, ['name']);
      assert.equal(at(d.range), '0:0-0:9');
    });

    it("puts a missing service key at the service's key", () => {
      const doc = parseStackDocument(VALID.replace('    kind: ollama\n', ''));
      const d = only(doc.diagnostics, 'schema');
      assert.match(d.message, /^Missing required key "kind" in runtimes\.ollama\. Add it, with one of "ollama", /);
      assert.equal(at(d.range), '2:2-2:8');
    });

    it('rejects a service name Docker cannot use, at the name, with a fixed one', () => {
      const doc = parseStackDocument(VALID.replace('  webui:', '  Web UI:'));
      const d = only(doc.diagnostics, 'schema');
      assert.match(d.message, /^Invalid name "Web UI" in uis: use 1–63 lower-case .* For example "web-ui"\.$/);
      assert.equal(at(d.range), '10:2-10:8');
    });

    it('says an invalid stack name is not valid, and why', () => {
      const doc = parseStackDocument(VALID.replace('name: demo', 'name: "My Stack"'));
      const d = only(doc.diagnostics, 'schema');
      assert.match(d.message, /^name: "My Stack" is not valid: use 1–63 lower-case letters/);
      assert.equal(at(d.range), '0:6-0:16');
    });

    it('reports a top level that is not a mapping', () => {
      const d = only(parseStackDocument('- a\n- b\n').diagnostics, 'schema');
      assert.equal(d.message, 'The top level: expected a mapping (version, name, runtimes, uis), got a list.');
    });

    it('counts columns in UTF-16 code units, as VS Code does', () => {
      const text = VALID.replace('    ports:\n      - "11434"', '    labels: { "😀": 3 }');
      const d = only(parseStackDocument(text).diagnostics, 'schema');
      assert.equal(d.message, 'runtimes.ollama.labels["😀"]: expected a string, got 3.');
      // "    labels: { " is 14 units, the quoted emoji 4 (two surrogates), then ": ".
      assert.equal(at(d.range), '5:20-5:21');
    });
  });

  describe('syntax errors', () => {
    it('reports a YAML syntax error at its line and column, and nothing else', () => {
      const text = lines('name: demo', 'runtimes:', '  a:', '    kind: ollama', '   image: x');
      const doc = parseStackDocument(text);
      assert.ok(doc.diagnostics.length >= 1);
      assert.ok(doc.diagnostics.every((d) => d.code === 'yaml'));
      const d = doc.diagnostics[0];
      assert.match(d.message, /^YAML syntax error: /);
      assert.equal(d.message, 'YAML syntax error: All mapping items must start at the same column');
      assert.equal(at(d.range), '4:3-4:9');
      assert.equal(doc.file, undefined);
    });

    it('reports a duplicate key at the repeat, naming the line of the first', () => {
      const doc = parseStackDocument(VALID.replace('    image: ollama/ollama:latest', '    image: ollama/ollama:latest\n    kind: vllm'));
      const d = only(doc.diagnostics, 'yaml');
      assert.equal(d.message, 'Duplicate key "kind": it is already set on line 4. Keep one of the two (a mapping holds each key once).');
      assert.equal(at(d.range), '5:4-5:8');
      assert.deepEqual(d.path, ['runtimes', 'ollama', 'kind']);
      assert.equal(doc.file, undefined);
    });

    it('reports an alias without its anchor at the alias', () => {
      const doc = parseStackDocument(VALID.replace('image: ollama/ollama:latest', 'image: *img'));
      const d = only(doc.diagnostics, 'yaml');
      assert.match(d.message, /Unresolved alias.*define the anchor/);
      assert.equal(at(d.range), '4:11-4:15');
    });

    it('reports one "empty" error for an empty, blank or comment-only file, in either format', () => {
      for (const [text, format] of [['', undefined], ['\n  \n', undefined], ['# only a comment\n', undefined], ['', 'json'], ['---\n', undefined]] as const) {
        const doc = parseStackDocument(text, format);
        assert.equal(doc.diagnostics.length, 1, JSON.stringify(text));
        const d = doc.diagnostics[0];
        assert.equal(d.message, 'The stack file is empty: start from a template (LLM Stack: New Stack from Template…)');
        assert.equal(d.severity, 'error');
        assert.equal(at(d.range), '0:0-0:0');
      }
    });

    it('keeps the same columns with CRLF line endings', () => {
      const lf = VALID.replace('    ports:\n      - "11434"', '    prots:\n      - 8080.5').replace('contextSize: auto', 'contextSize: -1');
      const crlf = lf.replace(/\n/g, '\r\n');
      const a = parseStackDocument(lf).diagnostics.map((d) => `${at(d.range)} ${d.message}`);
      const b = parseStackDocument(crlf).diagnostics.map((d) => `${at(d.range)} ${d.message}`);
      assert.equal(a.length, 2);
      assert.deepEqual(b, a);
      assert.match(b[0], /^5:4-5:9 Unknown key "prots"/);
      assert.match(b[1], /^8:19-8:21 runtimes\.ollama\.params\.contextSize/);
      // Lookups agree too: the value range ends before the "\r".
      const doc = parseStackDocument(crlf);
      assert.equal(at(doc.rangeOf(['name'])), '0:6-0:10');
      assert.equal(doc.nodeAt({ line: 0, character: 10 })?.path.join('.'), 'name');
    });
  });

  describe('JSON', () => {
    const json = [
      '{', //                                                 0
      '  "name": "demo",', //                                 1
      '  "runtimes": {', //                                   2
      '    "llm": { "kind": "llamacpp", "image": "x", "prots": [] }', // 3
      '  }', //                                               4
      '}', //                                                 5
    ].join('\n');

    it('takes .json file text as JSON and locates schema errors in it', () => {
      const doc = parseStackDocument(json);
      assert.equal(doc.format, 'json');
      const d = only(doc.diagnostics, 'schema');
      assert.equal(d.message, 'Unknown key "prots" in runtimes.llm. Did you mean "ports"?');
      assert.equal(at(d.range), '3:47-3:54');
    });

    it('reports a JSON syntax error as JSON, at the offending character', () => {
      const broken = json.replace('"image": "x",', '"image": "x",,');
      const doc = parseStackDocument(broken, 'json');
      const d = only(doc.diagnostics, 'json');
      assert.match(d.message, /^JSON syntax error: .*trailing commas are not JSON/);
      assert.equal(at(d.range), '3:46-3:47');
      assert.equal(doc.diagnostics.length, 1);
    });

    it('reports a trailing comma, which YAML would have accepted', () => {
      const doc = parseStackDocument('{ "name": "demo", }', 'json');
      assert.equal(only(doc.diagnostics, 'json').range.start.character, 18);
      // The same text read as YAML is a valid flow mapping.
      assert.equal(parseStackDocument('{ "name": "demo", }', 'yaml').file?.name, 'demo');
    });

    it('reports a duplicate key, which JSON.parse would have let through', () => {
      const doc = parseStackDocument('{\n  "name": "a",\n  "name": "b"\n}\n', 'json');
      const d = only(doc.diagnostics, 'yaml');
      assert.equal(d.message, 'Duplicate key "name": it is already set on line 2. Keep one of the two (a mapping holds each key once).');
      assert.equal(at(d.range), '2:2-2:8');
    });

    it('names the format from the file name', () => {
      assert.equal(stackFormatOf('/w/llmstack.json'), 'json');
      assert.equal(stackFormatOf('C:\\w\\dev.llmstack.JSON'), 'json');
      assert.equal(stackFormatOf('llmstack.yml'), 'yaml');
    });
  });

  describe('lookups', () => {
    it('rangeOf finds a nested value, its key, a list item, and nothing for a missing path', () => {
      const doc = parseStackDocument(VALID);
      assert.equal(at(doc.rangeOf(['runtimes', 'ollama', 'params', 'contextSize'])), '8:19-8:23');
      assert.equal(at(doc.rangeOf(['runtimes', 'ollama', 'params', 'contextSize'], 'key')), '8:6-8:17');
      assert.equal(at(doc.rangeOf(['runtimes', 'ollama', 'ports', 0])), '6:8-6:15');
      assert.equal(at(doc.rangeOf(['uis', 'webui', 'ports', 0])), '14:12-14:23');
      assert.equal(at(doc.rangeOf(['runtimes', 'ollama', 'params'])), '8:6-8:23');
      assert.equal(doc.rangeOf(['runtimes', 'ollama', 'ports', 0], 'key'), undefined);
      assert.equal(doc.rangeOf(['runtimes', 'nope']), undefined);
      assert.equal(doc.rangeOf(['runtimes', 'ollama', 'ports', 5]), undefined);
    });

    it('nodeAt finds the innermost key or scalar under a position', () => {
      const doc = parseStackDocument(VALID);
      assert.deepEqual(doc.nodeAt({ line: 8, character: 21 }), {
        path: ['runtimes', 'ollama', 'params', 'contextSize'],
        range: { start: { line: 8, character: 19 }, end: { line: 8, character: 23 } },
        isKey: false,
      });
      const key = doc.nodeAt({ line: 8, character: 7 });
      assert.deepEqual(key?.path, ['runtimes', 'ollama', 'params', 'contextSize']);
      assert.equal(key?.isKey, true);
      assert.deepEqual(doc.nodeAt({ line: 14, character: 15 })?.path, ['uis', 'webui', 'ports', 0]);
      assert.deepEqual(doc.nodeAt({ line: 6, character: 9 })?.path, ['runtimes', 'ollama', 'ports', 0]);
      // The indentation before a key belongs to no scalar.
      assert.equal(doc.nodeAt({ line: 8, character: 2 }), undefined);
    });

    it('works on a file with errors, for hovers while typing', () => {
      const doc = parseStackDocument(VALID.replace('contextSize: auto', 'contextSize: lots'));
      assert.equal(doc.file, undefined);
      assert.equal(doc.nodeAt({ line: 8, character: 20 })?.path.at(-1), 'contextSize');
    });
  });

  describe('StackFileError', () => {
    it('lists the errors as 1-based "line:col message"', () => {
      const text = VALID.replace('name: demo\n', '').replace('    ports:\n      - "11434"', '    prots:\n      - "11434"');
      assert.throws(
        () => loadStackFile(text),
        (err: unknown) => {
          assert.ok(err instanceof StackFileError);
          assert.equal(err.diagnostics.length, 2);
          assert.equal(
            err.message,
            'The stack file has 2 errors:\n' +
              '  1:1 Missing required key "name" at the top level. Add it, with a name (use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit).\n' +
              '  5:5 Unknown key "prots" in runtimes.ollama. Did you mean "ports"?',
          );
          return true;
        },
      );
    });

    it('shows five errors and counts the rest', () => {
      const many = lines('name: x', 'runtimes:', ...Array.from({ length: 7 }, (_, i) => `  s${i}: { kind: ollama }`));
      const err = (() => {
        try {
          loadStackFile(many);
        } catch (e) {
          return e as StackFileError;
        }
        assert.fail('expected a StackFileError');
      })();
      assert.match(err.message, /^The stack file has 7 errors:\n/);
      assert.equal(err.message.split('\n').length, 1 + 5 + 1);
      assert.match(err.message, /\n  …and 2 more$/);
    });
  });

  it('recognises stack file names by base name, in any case', () => {
    for (const yes of ['llmstack.yaml', 'llmstack.yml', 'llmstack.json', 'LLMStack.YAML', '/a/b/dev.llmstack.yaml', 'C:\\w\\gpu.llmstack.json']) {
      assert.equal(isStackFileName(yes), true, yes);
    }
    for (const no of ['llmstack.txt', 'myllmstack.yaml', 'llmstack.yaml.bak', '/llmstack.yaml/other.yaml', 'stack.yaml', '.llmstack.yaml']) {
      assert.equal(isStackFileName(no), false, no);
    }
  });

  describe('round trip (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    const text = fc.string({ maxLength: 20 });
    const envValue = fc.oneof(text, fc.integer({ min: -1e6, max: 1e6 }), fc.boolean());
    const env = fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), envValue, { maxKeys: 3 });
    const params = fc.record(
      {
        threads: fc.oneof(fc.constant('auto' as const), fc.integer({ min: 1, max: 64 })),
        contextSize: fc.oneof(fc.constant('auto' as const), fc.integer({ min: 1, max: 131072 })),
        parallel: fc.integer({ min: 1, max: 8 }),
      },
      { requiredKeys: [] },
    );
    const runtime = fc.record(
      {
        kind: fc.constantFrom('llamacpp' as const, 'localai' as const),
        image: fc.string({ minLength: 1, maxLength: 30 }),
        env,
        command: fc.oneof(text, fc.array(text, { maxLength: 3 })),
        gpu: fc.oneof(fc.constantFrom('auto' as const, 'none' as const, 'all' as const), fc.record({ count: fc.integer({ min: 1, max: 4 }) })),
        params,
        models: fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.record({ name: fc.string({ minLength: 1, maxLength: 12 }), keepLoaded: fc.boolean() })), { maxLength: 2 }),
        restart: fc.constantFrom('no' as const, 'always' as const, 'unless-stopped' as const, 'on-failure' as const),
        shmSize: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.stringMatching(/^[1-9]\d{0,3}(\.\d{1,2})? ?[kKmMgG]?[bB]?$/)),
      },
      { requiredKeys: ['kind', 'image'] },
    );
    /** A stack with distinct service names and host ports, and UIs pointing at existing runtimes. */
    const stack = fc
      .record({
        name,
        runtimes: fc.uniqueArray(fc.tuple(name, runtime), { maxLength: 3, selector: ([n]) => n }),
        uis: fc.uniqueArray(fc.tuple(name, fc.string({ minLength: 1, maxLength: 20 })), { maxLength: 2, selector: ([n]) => n }),
        ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 5, maxLength: 5 }),
      })
      .map(({ name, runtimes, uis, ports }): StackFile => {
        const file: { -readonly [K in keyof StackFile]: StackFile[K] } = { name };
        const rNames: string[] = [];
        if (runtimes.length > 0) {
          file.runtimes = Object.fromEntries(
            runtimes.map(([n, r], i) => {
              rNames.push(`r-${n}`);
              return [`r-${n}`, { ...r, ports: [`${ports[i]}:8080`], volumes: [`data-${i}:/data`] }];
            }),
          );
        }
        if (uis.length > 0) {
          file.uis = Object.fromEntries(
            uis.map(([n, image], i) => [`u-${n}`, { image, ports: [String(ports[3 + i])], ...(rNames[i] ? { runtime: rNames[i] } : {}) }]),
          );
        }
        return file;
      });

    it('parses any valid stack that `yaml` writes back to the same object, without errors', () => {
      fc.assert(
        fc.property(stack, (file) => {
          const doc = parseStackDocument(stringify(file));
          assert.deepEqual(errors(doc.diagnostics), []);
          // fast-check builds null-prototype objects; the parsed file has plain ones.
          const expected = JSON.parse(JSON.stringify(file)) as StackFile;
          assert.deepEqual(doc.file, expected);
          // And as JSON.
          const asJson = parseStackDocument(JSON.stringify(file, null, 2), 'json');
          assert.deepEqual(errors(asJson.diagnostics), []);
          assert.deepEqual(asJson.file, expected);
        }),
        { numRuns: 150 },
      );
    });
  });
});

describe('stack document: messages and lookups at the edges (unit)', () => {
  const svc = (...extra: string[]) => lines('name: demo', 'runtimes:', '  a:', '    kind: ollama', '    image: x', ...extra.map((e) => `    ${e}`));
  const one = (text: string, format?: 'yaml' | 'json') => {
    const diags = errors(parseStackDocument(text, format).diagnostics);
    assert.equal(diags.length, 1, JSON.stringify(diags.map((d) => d.message)));
    return diags[0];
  };

  it('keeps a file with an unknown YAML tag, warning at the tag', () => {
    const doc = parseStackDocument(svc('command: !weird x'));
    assert.equal(doc.file?.runtimes?.a.command, 'x');
    const w = only(doc.diagnostics, 'yaml');
    assert.equal(w.severity, 'warning');
    assert.equal(w.message, 'YAML: Unresolved tag: !weird');
    assert.equal(at(w.range), '5:13-5:19');
  });

  it('suggests a top-level key for a near-miss, besides the missing one', () => {
    const diags = errors(parseStackDocument('nme: demo\n').diagnostics);
    assert.deepEqual(
      diags.map((d) => d.message),
      [
        'Missing required key "name" at the top level. Add it, with a name (use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit).',
        'Unknown key "nme" at the top level. Did you mean "name"?',
      ],
    );
  });

  it('describes what it got: an empty value, a long text cut short, a number without a guess', () => {
    assert.match(one('name:\n').message, /^name: expected a name \(.*\), got an empty value\.$/);
    const long = one(svc(`restart: ${'a'.repeat(60)}`));
    assert.equal(long.message, `runtimes.a.restart: expected one of "no", "always", "unless-stopped" or "on-failure", got "${'a'.repeat(37)}...".`);
    assert.equal(at(long.range), '5:13-5:73', 'the whole value is marked');
    assert.equal(one(svc('restart: 5')).message, 'runtimes.a.restart: expected one of "no", "always", "unless-stopped" or "on-failure", got 5.');
  });

  it('says what each kind of value expects: true/false, a range, a mapping, a number of seconds', () => {
    assert.equal(one(svc('models: [{ name: m, pull: "yes" }]')).message, 'runtimes.a.models[0].pull: expected true/false or "idle", got "yes".');
    assert.equal(one(svc('port: 70000')).message, 'runtimes.a.port: expected a whole number from 1 to 65535, got 70000.');
    assert.equal(one(svc('port: 0')).message, 'runtimes.a.port: expected a whole number from 1 to 65535, got 0.');
    assert.equal(one(svc('labels: 5')).message, 'runtimes.a.labels: expected a mapping, got 5.');
    assert.equal(one(svc('params: [1]')).message, 'runtimes.a.params: expected a mapping (threads, gpuLayers, contextSize, parallel), got a list.');
    assert.equal(one(svc('gpu: { count: 0 }')).message, 'runtimes.a.gpu.count: expected a positive whole number, got 0.');
    assert.equal(
      one(svc('healthcheck: { test: x, interval: -1 }')).message,
      'runtimes.a.healthcheck.interval: expected a number (0 or more), or a duration such as "10s", "1m30s" or "500ms", got -1.',
    );
    assert.equal(one('version: 2\nname: demo\n').message, 'version: expected 1, got 2.');
  });

  it('asks for an entry or a value where an empty one is not allowed', () => {
    assert.equal(one(svc('gpu: { devices: [] }')).message, 'runtimes.a.gpu.devices: must not be empty; add an entry or remove the key.');
    const image = one(lines('name: demo', 'runtimes:', '  a:', '    kind: ollama', '    image: ""'));
    assert.equal(image.message, 'runtimes.a.image: must not be empty; write a value or remove the key.');
    assert.equal(at(image.range), '4:11-4:13');
  });

  it('rejects an empty service name without suggesting another empty one', () => {
    const d = one(lines('name: demo', 'runtimes:', '  "":', '    kind: ollama', '    image: x'));
    assert.equal(d.message, 'Invalid name "" in runtimes: use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit.');
    assert.equal(at(d.range), '2:2-2:4');
  });

  it('marks a missing key of a one-line mapping in a list at that mapping', () => {
    const d = one(svc('ports: [{ host: 1 }]'));
    assert.equal(d.message, 'Missing required key "container" in runtimes.a.ports[0]. Add it, with a whole number from 1 to 65535.');
    assert.equal(at(d.range), '5:12-5:23');
  });

  it('reports an error inside an anchored mapping for each service that uses it, at the anchored text', () => {
    const doc = parseStackDocument(lines('name: demo', 'runtimes:', '  a: &base', '    kind: ollama', '    image: x', '    restart: nope', '  c: *base'));
    const diags = errors(doc.diagnostics);
    assert.deepEqual(
      diags.map((d) => `${d.path.join('.')} ${at(d.range)}`),
      ['runtimes.a.restart 5:13-5:17', 'runtimes.c.restart 5:13-5:17'],
    );
    assert.match(diags[1].message, /got "nope"\. Did you mean "no"\?$/);
    // Lookups follow the alias too; a path into a scalar finds nothing.
    assert.equal(at(doc.rangeOf(['runtimes', 'c', 'image'])), '4:11-4:12');
    assert.equal(doc.rangeOf(['runtimes', 'a', 'image', 'x']), undefined);
    assert.deepEqual(doc.nodeAt({ line: 6, character: 6 })?.path, ['runtimes', 'c']);
  });

  it('reports a key that is itself a list as unknown, and hovers nothing over it', () => {
    const doc = parseStackDocument('name: demo\n? [a, b]\n: 1\n');
    const d = only(doc.diagnostics, 'schema');
    assert.equal(d.message, 'Unknown key "[ a, b ]" at the top level. Allowed keys: version, name, runtimes, uis.');
    assert.equal(doc.nodeAt({ line: 1, character: 3 }), undefined);
    assert.deepEqual(doc.nodeAt({ line: 0, character: 7 })?.path, ['name']);
  });

  it('marks a duplicate key inside a list item at the repeat', () => {
    const d = one(svc('ports:', '  - { container: 1, container: 2 }'));
    assert.equal(d.message, 'Duplicate key "container": it is already set on line 7. Keep one of the two (a mapping holds each key once).');
    assert.equal(at(d.range), '6:24-6:33');
    assert.deepEqual(d.path, ['runtimes', 'a', 'ports', 0, 'container'], 'the list index is kept');
  });

  it('words text after the JSON without Node\'s position suffix, and places it there', () => {
    const text = '{"name": "a"} x';
    const d = one(text, 'json');
    assert.match(d.message, /^JSON syntax error: Unexpected non-whitespace character\. Check for a missing comma/);
    assert.doesNotMatch(d.message, /position/);
    assert.equal(d.range.start.character, text.indexOf('x'));
  });

  it('puts a JSON error at the end for truncated input', () => {
    const text = '{"name": ';
    const d = one(text, 'json');
    assert.match(d.message, /^JSON syntax error: Unexpected end of JSON input\. Check for a missing comma/);
    assert.equal(at(d.range), `0:${text.length}-0:${text.length}`);
  });

  it('clamps hover positions outside the text to its start and end', () => {
    const doc = parseStackDocument('name: demo\nruntimes:\n  a:\n    kind: ollama\n    image: x');
    assert.deepEqual(doc.nodeAt({ line: -1, character: 5 }), { path: ['name'], range: { start: { line: 0, character: 0 }, end: { line: 0, character: 4 } }, isKey: true });
    assert.deepEqual(doc.nodeAt({ line: 99, character: 0 })?.path, ['runtimes', 'a', 'image']);
    assert.deepEqual(doc.nodeAt({ line: 4, character: 200 })?.path, ['runtimes', 'a', 'image']);
    assert.equal(doc.nodeAt({ line: 3, character: 0 }), undefined, 'indentation is no node');
    const seq = parseStackDocument(svc('ports: ["1",  "2"]'));
    assert.deepEqual(seq.nodeAt({ line: 5, character: 12 })?.path, ['runtimes', 'a', 'ports', 0]);
    assert.equal(seq.nodeAt({ line: 5, character: 16 }), undefined, 'between two items');
  });

  it('says "1 error" for one', () => {
    assert.throws(
      () => loadStackFile('name: Demo\n'),
      (e: unknown) => e instanceof StackFileError && /^The stack file has 1 error:\n {2}1:7 name: "Demo" is not valid/.test(e.message),
    );
  });
});
