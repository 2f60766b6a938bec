// Semantic checks of a schema-valid stack: names, ports, dependencies and cycles, params a kind
// ignores, volume targets. Findings are checked by path and message on the object, and by position
// through the document parser where the brief is "reported at both entries".
import * as assert from 'node:assert/strict';
import { parseStackDocument } from '../../../../src/core/stack/document';
import type { StackFile } from '../../../../src/core/stack/schema';
import type { StackRange } from '../../../../src/core/stack/types';
import { closestMatch, formatPath, MAX_PROBLEMS, Problems, validateStack, type StackFinding } from '../../../../src/core/stack/validate';

function at(r: StackRange): string {
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

function withCode(findings: readonly StackFinding[], code: string): StackFinding[] {
  return findings.filter((f) => f.code === code);
}

const lines = (...l: string[]) => l.join('\n') + '\n';

/** A stack with one runtime and one UI, overridable per test. */
function stack(runtimes: NonNullable<StackFile['runtimes']>, uis?: StackFile['uis']): StackFile {
  return { name: 'test', runtimes, ...(uis ? { uis } : {}) };
}

describe('stack validation (unit)', () => {
  it('finds nothing wrong in a sound stack', () => {
    const file = stack(
      {
        ollama: { kind: 'ollama', image: 'ollama/ollama', ports: ['11434'], volumes: ['models:/root/.ollama'], params: { contextSize: 'auto' } },
        llm: { kind: 'llamacpp', image: 'x', ports: ['127.0.0.2:11434:8080', { container: 8080, host: 0 }, '0:8080'], params: { threads: 'auto', gpuLayers: 10 } },
      },
      { webui: { image: 'w', runtime: 'ollama', dependsOn: ['llm'], ports: ['3000:8080', '11434/udp'] } },
    );
    assert.deepEqual(validateStack(file), []);
  });

  describe('names', () => {
    it('reports a name used under both runtimes and uis, at both', () => {
      const found = validateStack(stack({ web: { kind: 'other', image: 'x' } }, { web: { image: 'y' } }));
      assert.deepEqual(
        withCode(found, 'duplicate-service').map((f) => f.path),
        [
          ['runtimes', 'web'],
          ['uis', 'web'],
        ],
      );
      assert.match(found[0].message, /^Service name "web" is used under both runtimes and uis: .*Rename the one under uis/);
    });

    it('suggests a close name, and is quiet when nothing is close', () => {
      assert.equal(closestMatch('prots', ['image', 'ports', 'volumes']), 'ports');
      assert.equal(closestMatch('olama', ['ollama', 'webui']), 'ollama');
      assert.equal(closestMatch('Ollama', ['ollama']), 'ollama');
      assert.equal(closestMatch('zzz', ['ollama', 'webui']), undefined);
      assert.equal(closestMatch('a', ['b']), undefined);
    });

    it('bounds suggestions: no work for a long word, and only the first 500 candidates', () => {
      assert.equal(closestMatch('p'.repeat(101), ['p'.repeat(101)]), undefined);
      const names = (at: number) => Array.from({ length: 600 }, (_, i) => (i === at ? 'postgres' : `filler-${i}`));
      assert.equal(closestMatch('postgress', names(10)), 'postgres');
      assert.equal(closestMatch('postgress', names(550)), undefined, 'the 551st name is not compared');
      assert.equal(closestMatch('abcd', ['bacd', 'abdc']), 'bacd', 'a transposition is one edit');
    });

    it('writes paths the way the messages do', () => {
      assert.equal(formatPath(['runtimes', 'ollama', 'ports', 0]), 'runtimes.ollama.ports[0]');
      assert.equal(formatPath(['runtimes', 'my.llm', 'env', 'A B']), 'runtimes["my.llm"].env["A B"]');
      assert.equal(formatPath([]), '');
    });
  });

  describe('ports', () => {
    const text = lines(
      'name: demo', //                     0
      'runtimes:', //                      1
      '  ollama:', //                      2
      '    kind: ollama', //               3
      '    image: ollama/ollama', //       4
      '    ports: ["8080:11434"]', //      5
      'uis:', //                           6
      '  webui:', //                       7
      '    image: ghcr.io/open-webui/open-webui:main', // 8
      '    ports:', //                     9
      '      - "3000:8080"', //           10
      '      - "0.0.0.0:8080:8080"', //   11
    );

    it('reports a host port published twice at both entries, naming the other service', () => {
      const doc = parseStackDocument(text);
      const dup = doc.diagnostics.filter((d) => d.code === 'duplicate-port');
      assert.deepEqual(
        dup.map((d) => `${at(d.range)} ${d.message}`),
        [
          '5:12-5:24 Host port 8080/tcp is also published by service "webui" (uis.webui.ports[1]): two containers cannot bind the same host port. Change one of the host ports, e.g. "8081:11434".',
          '11:8-11:27 Host port 8080/tcp is also published by service "ollama" (runtimes.ollama.ports[0]): two containers cannot bind the same host port. Change one of the host ports, e.g. "8081:8080".',
        ],
      );
      assert.equal(doc.file, undefined);
    });

    it('warns that a port on 0.0.0.0 or :: is reachable from other machines', () => {
      const doc = parseStackDocument(text);
      const pub = doc.diagnostics.filter((d) => d.code === 'public-port');
      assert.equal(pub.length, 1);
      assert.equal(pub[0].severity, 'warning');
      assert.equal(
        pub[0].message,
        'Port "0.0.0.0:8080:8080" binds 0.0.0.0, so it is reachable from other machines; remove the address to bind 127.0.0.1 (this machine only).',
      );
      assert.equal(at(pub[0].range), '11:8-11:27');

      const v6 = validateStack(stack({ a: { kind: 'other', image: 'x', ports: ['[::]:9000:9000', { container: 1, hostIp: '::' }] } }));
      assert.deepEqual(
        withCode(v6, 'public-port').map((f) => f.path),
        [
          ['runtimes', 'a', 'ports', 0],
          ['runtimes', 'a', 'ports', 1],
        ],
      );
    });

    it('lets the same port coexist on different addresses and protocols, and never clashes on port 0', () => {
      const ok = validateStack(
        stack({
          a: { kind: 'other', image: 'x', ports: ['127.0.0.1:9000:1', '127.0.0.2:9000:1', '9000:1/udp', '0:1', { container: 5, host: 0 }] },
          b: { kind: 'other', image: 'x', ports: ['0:1', { container: 5, host: 0 }] },
        }),
      );
      assert.deepEqual(withCode(ok, 'duplicate-port'), []);
    });

    it('treats a wildcard address as overlapping every address, and an entry of the same service too', () => {
      const found = validateStack(
        stack({
          a: { kind: 'other', image: 'x', ports: ['[::]:7000:1', '127.0.0.5:7001:1', { container: 2, host: 7001, hostIp: '127.0.0.5' }] },
          b: { kind: 'other', image: 'x', ports: ['127.0.0.9:7000:1'] },
        }),
      );
      const dup = withCode(found, 'duplicate-port');
      assert.deepEqual(
        dup.map((f) => formatPath(f.path)),
        ['runtimes.a.ports[0]', 'runtimes.a.ports[1]', 'runtimes.a.ports[2]', 'runtimes.b.ports[0]'],
      );
      assert.match(dup[1].message, /also published by another entry of this service \(runtimes\.a\.ports\[2\]\)/);
    });

    it('reports each entry of a port published three times once, naming the first other and counting the rest', () => {
      const found = validateStack(stack({ a: { kind: 'other', image: 'x', ports: ['9000:1', '9000:2'] }, b: { kind: 'other', image: 'x', ports: ['0.0.0.0:9000:3', '9001:4'] } }));
      assert.deepEqual(
        withCode(found, 'duplicate-port').map((f) => `${formatPath(f.path)} ${f.message.split(':')[0]}`),
        [
          'runtimes.a.ports[0] Host port 9000/tcp is also published by another entry of this service (runtimes.a.ports[1]) and 1 more entry',
          'runtimes.a.ports[1] Host port 9000/tcp is also published by another entry of this service (runtimes.a.ports[0]) and 1 more entry',
          'runtimes.b.ports[0] Host port 9000/tcp is also published by service "a" (runtimes.a.ports[0]) and 1 more entry',
        ],
      );
      // The suggested free port skips every port the file takes (9001 here).
      assert.match(found.find((f) => f.code === 'duplicate-port')!.message, /e\.g\. "9002:1"\.$/);
    });

    it('rejects ports out of range and addresses that are not IPs', () => {
      const found = validateStack(stack({ a: { kind: 'other', image: 'x', ports: ['70000:80', '8080:0', '999.1.1.1:80:80', { container: 80, hostIp: 'localhost' }] } }));
      assert.deepEqual(
        found.map((f) => `${f.code} ${formatPath(f.path)} ${f.message}`),
        [
          'port-range runtimes.a.ports[0] Port "70000:80": host port 70000 is out of range; use 0–65535 (0 lets the engine pick a free port).',
          'port-range runtimes.a.ports[1] Port "8080:0": container port 0 is out of range; use 1–65535.',
          'port-address runtimes.a.ports[2] Port "999.1.1.1:80:80": "999.1.1.1" is not an IP address; write an address such as 127.0.0.1 (this machine only) or leave it out.',
          'port-address runtimes.a.ports[3].hostIp Port the port mapping: "localhost" is not an IP address; write an address such as 127.0.0.1 (this machine only) or leave it out.',
        ],
      );
    });
  });

  describe('dependencies', () => {
    it('reports a dependency on a service not in the stack, with a suggestion', () => {
      const text = lines(
        'name: demo', //               0
        'runtimes:', //                1
        '  ollama:', //                2
        '    kind: ollama', //         3
        '    image: o', //             4
        'uis:', //                     5
        '  webui:', //                 6
        '    image: w', //             7
        '    runtime: olama', //       8
        '    dependsOn: [search]', //  9
      );
      const doc = parseStackDocument(text);
      assert.deepEqual(
        doc.diagnostics.map((d) => `${d.code} ${at(d.range)} ${d.message}`),
        [
          'missing-dependency 8:13-8:18 Service "webui" uses the runtime "olama", which is not in this stack. Did you mean "ollama"?',
          'missing-dependency 9:16-9:22 Service "webui" depends on "search", which is not in this stack. Services you can name here: "ollama", "webui".',
        ],
      );
    });

    it("reports a UI's runtime that names a UI", () => {
      const found = validateStack(stack({ llm: { kind: 'vllm', image: 'v' } }, { chat: { image: 'c' }, admin: { image: 'a', runtime: 'chat' } }));
      assert.deepEqual(found, [
        {
          path: ['uis', 'admin', 'runtime'],
          code: 'ui-runtime',
          severity: 'error',
          message: '"chat" is a UI, not a runtime: a UI\'s runtime must name a service under runtimes ("llm"). To start after another UI, list it in dependsOn instead.',
        },
      ]);
    });

    it('reports a service that depends on itself', () => {
      const found = validateStack(stack({ a: { kind: 'other', image: 'x', dependsOn: ['a'] } }, { u: { image: 'y', runtime: 'a', dependsOn: ['u'] } }));
      assert.deepEqual(
        found.map((f) => `${f.code} ${formatPath(f.path)}`),
        ['self-dependency runtimes.a.dependsOn[0]', 'self-dependency uis.u.dependsOn[0]'],
      );
      assert.equal(found[0].message, 'Service "a" names itself in dependsOn: a service cannot wait for itself. Remove "a" here.');
    });

    it('reports a cycle a → b → c → a at the dependsOn entry of each service in it', () => {
      const text = lines(
        'name: demo', //                  0
        'runtimes:', //                   1
        '  a:', //                        2
        '    kind: other', //             3
        '    image: x', //                4
        '    dependsOn: [d, b]', //       5
        '  b:', //                        6
        '    kind: other', //             7
        '    image: x', //                8
        '    dependsOn:', //              9
        '      - c', //                  10
        '  d:', //                       11
        '    kind: other', //            12
        '    image: x', //               13
        'uis:', //                       14
        '  c:', //                       15
        '    image: x', //               16
        '    dependsOn: [a]', //         17
      );
      const doc = parseStackDocument(text);
      assert.deepEqual(
        doc.diagnostics.map((d) => `${d.code} ${at(d.range)} ${d.message}`),
        [
          'cycle 5:19-5:20 Dependency cycle: a → b → c → a. None of these services can start first; remove one of these dependencies.',
          'cycle 10:8-10:9 Dependency cycle: b → c → a → b. None of these services can start first; remove one of these dependencies.',
          'cycle 17:16-17:17 Dependency cycle: c → a → b → c. None of these services can start first; remove one of these dependencies.',
        ],
      );
      assert.deepEqual(doc.diagnostics[1].path, ['runtimes', 'b', 'dependsOn', 0]);
    });

    it("follows a UI's runtime as an edge of a cycle, and reports it there", () => {
      const found = validateStack(stack({ llm: { kind: 'other', image: 'x', dependsOn: ['ui'] } }, { ui: { image: 'y', runtime: 'llm' } }));
      assert.deepEqual(
        found.map((f) => `${formatPath(f.path)} ${f.message.split('.')[0]}`),
        ['runtimes.llm.dependsOn[0] Dependency cycle: llm → ui → llm', 'uis.ui.runtime Dependency cycle: ui → llm → ui'],
      );
    });
  });

  describe('limits', () => {
    it('keeps the first MAX_PROBLEMS findings, errors before warnings, and builds no message past them', () => {
      const problems = new Problems<string>(3);
      let built = 0;
      const make = (s: string) => () => {
        built++;
        return s;
      };
      for (let i = 0; i < 5; i++) problems.add('warning', make(`w${i}`));
      problems.add('error', make('e0'));
      problems.add('info', make('i0'));
      assert.equal(problems.hasError, true);
      assert.deepEqual(problems.shown(), { items: ['w0', 'w1', 'e0'], notShown: 4 });
      assert.equal(built, 4, 'three warnings (they might have been shown) and the error');
      assert.equal(new Problems<string>().limit, MAX_PROBLEMS);
    });

    it('reports a cycle through thousands of services at each of the first ones, briefly', () => {
      const n = 5000;
      const runtimes = Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { kind: 'other' as const, image: 'x', dependsOn: [`s${(i + 1) % n}`] }]));
      const found = validateStack(stack(runtimes));
      assert.equal(found.length, MAX_PROBLEMS);
      assert.deepEqual(found[7].path, ['runtimes', 's7', 'dependsOn', 0]);
      assert.equal(found[7].message.split('.')[0], 'Dependency cycle: s7 → s8 → s9 → s10 → s11 → s12 → … 4992 more … → s5 → s6 → s7 (5000 services)');
    });

    it('finds the shortest cycle from each service where cycles share services', () => {
      // a ⇄ b and b → c → a: from c the shortest way back is c → a → b → c.
      const found = validateStack(
        stack({ a: { kind: 'other', image: 'x', dependsOn: ['b'] }, b: { kind: 'other', image: 'x', dependsOn: ['a', 'c'] }, c: { kind: 'other', image: 'x', dependsOn: ['a'] }, d: { kind: 'other', image: 'x', dependsOn: ['a'] } }),
      );
      assert.deepEqual(
        found.map((f) => `${formatPath(f.path)} ${f.message.split('.')[0]}`),
        ['runtimes.a.dependsOn[0] Dependency cycle: a → b → a', 'runtimes.b.dependsOn[0] Dependency cycle: b → a → b', 'runtimes.c.dependsOn[0] Dependency cycle: c → a → b → c'],
      );
    });
  });

  describe('params and volumes', () => {
    it('warns about params the kind cannot take, auto included', () => {
      const found = validateStack(
        stack({
          v: { kind: 'vllm', image: 'v', params: { gpuLayers: 'auto', contextSize: 'auto', threads: 4 } },
          l: { kind: 'llamacpp', image: 'l', params: { gpuLayers: 'auto', threads: 'auto', contextSize: 4096, parallel: 2 } },
          o: { kind: 'other', image: 'o', params: { parallel: 1 } },
        }),
      );
      assert.deepEqual(
        found.map((f) => `${f.severity} ${f.code} ${formatPath(f.path)}`),
        ['warning ignored-param runtimes.v.params.threads', 'warning ignored-param runtimes.v.params.gpuLayers', 'warning ignored-param runtimes.o.params.parallel'],
      );
      assert.match(found[1].message, /^params\.gpuLayers has no effect on kind "vllm": .*Remove it\.$/);
    });

    it('reports a volume on /dev/shm next to shmSize, and allows it without shmSize', () => {
      const found = validateStack(stack({ a: { kind: 'other', image: 'x', shmSize: '1g', volumes: ['shm:/dev/shm/'] }, b: { kind: 'other', image: 'x', volumes: ['shm:/dev/shm'] } }));
      assert.deepEqual(found.map((f) => [f.path.join('.'), f.code]), [['runtimes.a.volumes.0', 'volume-target']]);
      assert.match(found[0].message, /mounts onto \/dev\/shm, which shmSize already sizes/);
    });

    it('reports two volumes of one service on the same target, not across services', () => {
      const found = validateStack(
        stack({
          a: { kind: 'other', image: 'x', volumes: ['m:/models', './here:/models/:ro', 'n:/other'] },
          b: { kind: 'other', image: 'x', volumes: ['m:/models'] },
        }),
      );
      assert.deepEqual(found, [
        {
          path: ['runtimes', 'a', 'volumes', 1],
          code: 'volume-target',
          severity: 'error',
          message: 'Volume "./here:/models/:ro" mounts onto /models, which volumes[0] ("m:/models") already uses: a path inside the container can hold one mount. Change one target or remove one volume.',
        },
      ]);
    });
  });
});
