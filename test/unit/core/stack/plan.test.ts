// Unit tests for planStack and formatPlan (src/core/stack/plan.ts). planStack is pure, so the engine
// states here are written out by hand; readStackState is covered by the integration tests.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { desiredContainers, envRecord, type DesiredService } from '../../../../src/core/stack/containerSpec';
import { realHostPath } from '../../../../src/core/stack/hostPaths';
import { formatPlan, planStack, type ExistingContainer, type StackState } from '../../../../src/core/stack/plan';
import { stackFileSchema } from '../../../../src/core/stack/schema';

const FILE = `
name: demo
runtimes:
  ollama:
    kind: ollama
    image: ollama/ollama:latest
    ports: ["11434"]
    volumes: ["models:/root/.ollama"]
    healthcheck: { test: "ollama list", interval: 2s }
uis:
  webui:
    kind: openwebui
    image: ghcr.io/open-webui/open-webui:main
    ports: ["3000:8080"]
    runtime: ollama
`;

const IMAGE_IDS: Record<string, string> = { 'ollama/ollama:latest': 'sha256:aaa', 'ghcr.io/open-webui/open-webui:main': 'sha256:bbb' };

function desired(text = FILE): DesiredService[] {
  return desiredContainers(stackFileSchema.parse(parse(text)), { stackDir: '/p' });
}

/** The container an apply of d would have left behind. */
function existing(d: DesiredService, over: Partial<ExistingContainer> = {}): ExistingContainer {
  return {
    id: `id-${d.service}`,
    name: d.containerName,
    service: d.service,
    status: 'running',
    image: d.image,
    imageId: IMAGE_IDS[d.image] ?? 'sha256:zzz',
    configHash: d.configHash,
    configDigest: d.configDigest,
    labels: d.create.Labels ?? {},
    // What the engine reports: the image's variables, then ours.
    env: { PATH: '/usr/bin', ...envRecord(d.create.Env) },
    ...over,
  };
}

function state(containers: ExistingContainer[], over: Partial<StackState> = {}): StackState {
  return {
    stack: 'demo',
    containers,
    networkExists: true,
    volumes: ['demo_models'],
    images: Object.fromEntries(Object.entries(IMAGE_IDS).map(([k, id]) => [k, { present: true, id }])),
    ...over,
  };
}

const kinds = (p: ReturnType<typeof planStack>) => p.steps.map((s) => `${s.kind} ${s.service ?? s.target}`);

describe('stack plan (unit)', () => {
  it('from nothing: pulls missing images, creates network and volume, then the services with their ports', () => {
    const d = desired();
    const p = planStack(d, state([], { networkExists: false, volumes: [], images: { 'ollama/ollama:latest': { present: false }, 'ghcr.io/open-webui/open-webui:main': { present: true, id: 'sha256:bbb' } } }));
    assert.deepEqual(kinds(p), ['pull ollama/ollama:latest', 'create-network demo_default', 'create-volume demo_models', 'create ollama', 'create webui']);
    assert.equal(p.changes.length, 5);
    assert.deepEqual(p.steps[4].dependsOn, ['ollama']);
    const text = formatPlan(p);
    assert.match(text, /^Stack "demo": 1 to pull, 2 to create, 2 network\/volume to create\./);
    assert.match(text, /\+ create\s+ollama\s+\(image ollama\/ollama:latest, 127\.0\.0\.1:11434→11434\)/);
    assert.match(text, /\+ create\s+webui\s+\(image ghcr\.io\/open-webui\/open-webui:main, 127\.0\.0\.1:3000→8080\) \[after ollama\]/);
    assert.match(text, /↓ pull\s+ollama\/ollama:latest\s+\(not present locally\)/);
  });

  it('after an apply: nothing to do, "No changes."', () => {
    const d = desired();
    const p = planStack(d, state(d.map((x) => existing(x, { health: x.waitHealthy ? 'healthy' : undefined }))));
    assert.deepEqual(p.changes, []);
    assert.deepEqual(kinds(p), ['unchanged ollama', 'unchanged webui']);
    assert.equal(p.steps[0].containerId, 'id-ollama');
    const text = formatPlan(p);
    assert.match(text, /^No changes\./);
    assert.match(text, /= unchanged ollama\s+\(running, healthy\)/);
  });

  it('a changed env recreates that service only and names the variable', () => {
    const before = desired();
    const after = desired(FILE.replace('runtime: ollama', 'runtime: ollama\n    env: { WEBUI_AUTH: "false" }'));
    const p = planStack(after, state(before.map((x) => existing(x))));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}`),
      ['recreate webui'],
    );
    assert.equal(p.changes[0].reason, 'env changed (WEBUI_AUTH)');
    assert.equal(p.changes[0].containerId, 'id-webui');
    assert.match(formatPlan(p), /~ recreate webui: env changed \(WEBUI_AUTH\) \[after ollama\]/);
  });

  it('a changed shmSize recreates that service, saying so; an older digest without it blames only what changed', () => {
    const before = desired();
    const after = desired(FILE.replace('    ports: ["11434"]', '    ports: ["11434"]\n    shmSize: 1g'));
    const p = planStack(after, state(before.map((x) => existing(x))));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate ollama: shmSize changed'],
    );
    assert.match(formatPlan(p), /~ recreate ollama: shmSize changed\n/);
    const smaller = desired(FILE.replace('    ports: ["11434"]', '    ports: ["11434"]\n    shmSize: 512m'));
    assert.equal(planStack(smaller, state(after.map((x) => existing(x)))).changes[0].reason, 'shmSize changed');

    // Containers made before shmSize existed carry digests without it.
    const older = before.map((x) => {
      const { shmSize: _dropped, ...digest } = x.configDigest;
      return existing(x, { configDigest: digest });
    });
    const envChanged = desired(FILE.replace('runtime: ollama', 'runtime: ollama\n    env: { WEBUI_AUTH: "false" }'));
    assert.deepEqual(
      planStack(envChanged, state(older)).changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate webui: env changed (WEBUI_AUTH)'],
    );
  });

  it('says which fields differ: image, ports, and a container made without digests', () => {
    const before = desired();
    const after = desired(FILE.replace('ollama/ollama:latest', 'ollama/ollama:0.9').replace('"3000:8080"', '"3001:8080"'));
    const p = planStack(after, state(before.map((x) => existing(x)), { images: {} }));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate ollama: image changed', 'recreate webui: ports changed'],
    );
    const noDigest = planStack(after, state(before.map((x) => existing(x, { configDigest: undefined }))));
    assert.match(noDigest.changes[0].reason, /made by an older version or by hand/);
  });

  it('recreates when the local image was rebuilt under the same tag', () => {
    const d = desired();
    const p = planStack(d, state(d.map((x) => existing(x, x.service === 'ollama' ? { imageId: 'sha256:old' } : {}))));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}`),
      ['recreate ollama'],
    );
    assert.match(p.changes[0].reason, /image updated/);
  });

  it('starts stopped services, stops those the file wants stopped, removes what left the file', () => {
    const d = desired(FILE.replace('runtime: ollama', 'runtime: ollama\n    state: stopped'));
    const s = state([
      existing(d[0], { status: 'exited' }),
      existing(d[1]),
      { id: 'id-old', name: 'demo-old', service: 'old', status: 'running', image: 'x', imageId: 'sha256:x', labels: {}, env: {} },
      { ...existing(d[0]), id: 'id-dup', name: 'demo-ollama-copy' },
    ]);
    const p = planStack(d, s);
    assert.deepEqual(
      p.changes.map((x) => `${x.kind} ${x.service ?? x.target}`),
      ['remove old', 'remove ollama', 'start ollama', 'stop webui'],
    );
    assert.equal(p.changes[0].reason, 'no longer in the stack file');
    assert.equal(p.changes[0].containerId, 'id-old');
    assert.match(p.changes[1].reason, /a second container of service "ollama"/);
    const text = formatPlan(p);
    assert.match(text, /- remove old\s+\(no longer in the stack file\)/);
    assert.match(text, /▶ start\s+ollama\s+\(exited\)/);
    assert.match(text, /■ stop\s+webui/);
  });

  it('recreates a dead container and leaves a stopped one stopped', () => {
    const d = desired(FILE.replace('runtime: ollama', 'runtime: ollama\n    state: stopped'));
    const p = planStack(d, state([existing(d[0], { status: 'dead' }), existing(d[1], { status: 'exited' })]));
    assert.deepEqual(
      p.steps.map((x) => `${x.kind} ${x.service}: ${x.reason}`),
      ['recreate ollama: the container is dead', 'unchanged webui: stopped'],
    );
  });

  it('plans a 50-service chain with every container unchanged as no changes (speed: npm run bench -- stack)', () => {
    const lines = ['name: big', 'runtimes:'];
    for (let i = 0; i < 50; i++) lines.push(`  s${i}: { kind: ollama, image: "img:${i % 5}", ports: ["${20000 + i}:11434"], env: { A: "${i}" }${i ? `, dependsOn: [s${i - 1}]` : ''} }`);
    const file = stackFileSchema.parse(parse(lines.join('\n')));
    const d0 = desiredContainers(file, { stackDir: '/p' });
    const full = state(
      d0.map((x) => existing(x)),
      { stack: 'big', images: Object.fromEntries(d0.map((x) => [x.image, { present: true, id: 'sha256:zzz' }])), volumes: [] },
    );
    const p = planStack(desiredContainers(file, { stackDir: '/p' }), full);
    assert.equal(p.changes.length, 0);
    assert.equal(p.steps.filter((x) => x.kind === 'unchanged').length, 50);
    assert.deepEqual(p.steps.find((x) => x.service === 's49')?.dependsOn, ['s48']);
  });
});

describe('stack plan: the cases between (unit)', () => {
  it('removes a container with the stack label but no service label, saying so', () => {
    const d = desired();
    const stray: ExistingContainer = { id: 'id-stray', name: 'demo-stray', status: 'exited', image: 'x', imageId: 'sha256:x', labels: {}, env: {} };
    const p = planStack(d, state([...d.map((x) => existing(x)), stray]));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service ?? s.target}: ${s.reason}`),
      ['remove demo-stray: carries the stack label but no service label'],
    );
    assert.match(formatPlan(p), /- remove demo-stray {2}\(carries the stack label but no service label\)/);
  });

  it('says "configuration changed" when the hash differs but the recorded fields do not', () => {
    const d = desired();
    const p = planStack(d, state(d.map((x) => existing(x, x.service === 'webui' ? { configHash: 'older-hash' } : {}))));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate webui: configuration changed'],
    );
  });

  it('recreates a service the file wants stopped and says it stays stopped; a paused one is started or stopped', () => {
    const stopped = desired(FILE.replace('runtime: ollama', 'runtime: ollama\n    state: stopped'));
    const p = planStack(stopped, state([existing(stopped[0]), existing(stopped[1], { configHash: 'x', status: 'exited' })]));
    assert.equal(p.changes[0].reason, 'configuration changed (left stopped)');

    const paused = planStack(stopped, state(stopped.map((x) => existing(x, { status: 'paused' }))));
    assert.deepEqual(
      paused.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['start ollama: paused', 'stop webui: the file wants it stopped'],
    );
  });

  it('creates a stopped service with its IPv6 and udp ports in the summary', () => {
    const d = desired(
      FILE.replace('ports: ["3000:8080"]', 'ports: ["[::1]:3000:8080", "9000:9000/udp", { container: 7000, host: 0 }]').replace('runtime: ollama', 'runtime: ollama\n    state: stopped'),
    );
    const p = planStack(d, state([existing(d[0])]));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['create webui: image ghcr.io/open-webui/open-webui:main, [::1]:3000→8080, 127.0.0.1:9000→9000/udp, 127.0.0.1:any→7000, left stopped'],
    );
  });

  it('plans no network for no services, and the network it is told to use', () => {
    const empty = planStack([], state([], { networkExists: false, volumes: [] }));
    assert.deepEqual(empty.steps, []);
    assert.match(formatPlan(empty), /^No changes\.$/);

    const d = desired();
    const own = planStack(d, state(d.map((x) => existing(x)), { networkExists: false }), { network: 'shared-net', volumes: [] });
    assert.deepEqual(kinds(own), ['create-network shared-net', 'unchanged ollama', 'unchanged webui']);
    const none = planStack(d, state(d.map((x) => existing(x)), { networkExists: false }), { network: null, stack: 'other' });
    assert.equal(none.stack, 'other');
    assert.deepEqual(none.changes, []);
  });
});

describe('stack plan: env values and host paths (unit)', () => {
  const withToken = (token: string) => desired(FILE.replace('    ports: ["11434"]', `    ports: ["11434"]\n    env: { HF_TOKEN: "${token}" }`));

  it('finds a changed secret value against the container\'s environment, not a label', () => {
    const before = withToken('hf_old');
    const after = withToken('hf_new');
    assert.deepEqual(after[0].create.Labels, before[0].create.Labels, 'no label changes with the value');
    const p = planStack(after, state(before.map((x) => existing(x))));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate ollama: env changed (HF_TOKEN)'],
    );
    assert.deepEqual(planStack(after, state(after.map((x) => existing(x)))).changes, [], 'the same value: nothing to do');
    // Changed on the engine by hand (docker container update cannot, a re-create outside the extension can).
    const edited = planStack(after, state(after.map((x) => existing(x, x.service === 'ollama' ? { env: { ...envRecord(x.create.Env), HF_TOKEN: 'other' } } : {}))));
    assert.deepEqual(
      edited.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate ollama: env changed (HF_TOKEN)'],
    );
    const removed = planStack(desired(), state(after.map((x) => existing(x))));
    assert.deepEqual(
      removed.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate ollama: env changed (HF_TOKEN)'],
    );
  });

  it('recreates a container whose labels hold digests of env values (older versions), saying why', () => {
    const d = withToken('hf_same');
    // What an older version stored: a digest per value, and a hash over the values.
    const legacy = d.map((x) => existing(x, x.service === 'ollama' ? { configHash: 'hash-over-values', configDigest: { ...x.configDigest, env: { HF_TOKEN: '0a1b2c3d4e5f60' } } } : {}));
    const p = planStack(d, state(legacy));
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate ollama: its labels hold digests of env values (made by an older version): recreated without them'],
    );
  });

  it('lists every host path each service gets and warns first about the sensitive ones', () => {
    const home = os.homedir();
    const d = desired(
      FILE.replace('    volumes: ["models:/root/.ollama"]', '    volumes: ["models:/root/.ollama", "/var/run/docker.sock:/var/run/docker.sock", "./data:/data:ro"]').replace(
        '    runtime: ollama',
        '    runtime: ollama\n    volumes: ["/:/host:ro", "~/.ssh:/root/.ssh", "~/projects:/work"]',
      ),
    );
    const p = planStack(d, state([]));
    assert.deepEqual(
      p.hostMounts?.map((m) => `${m.service} ${m.source}→${m.target}${m.readOnly ? ' ro' : ''}${m.warning ? ' !' : ''}`),
      ['ollama /var/run/docker.sock→/var/run/docker.sock !', 'ollama /p/data→/data ro', 'webui /→/host ro !', `webui ${home}/.ssh→/root/.ssh !`, `webui ${home}/projects→/work`],
    );
    const text = formatPlan(p);
    const lines = text.split('\n');
    assert.match(lines[1], /^! warning: ollama: bind mount \/var\/run\/docker\.sock is the container engine's socket: full control of the engine, which is root on this machine\.$/);
    assert.match(lines[2], /^! warning: webui: bind mount \/ is the whole host file system \(read-only\)\.$/);
    assert.match(lines[3], /^! warning: webui: bind mount .*\/\.ssh is credentials \(~\/\.ssh\)\.$/);
    assert.ok(lines.indexOf('Host paths the containers get:') > lines.findIndex((l) => l.startsWith('+ create')), 'the list follows the steps');
    assert.match(text, /\n {2}ollama: \/p\/data → \/data \(read-only\)\n/);
    assert.match(text, /\n {2}webui: .*\/projects → \/work$/);
  });

  it('resolves links in host paths, so a link to the engine socket is named for what it is', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-plan-'));
    try {
      const sock = path.join(dir, 'docker.sock');
      fs.writeFileSync(sock, '');
      fs.symlinkSync(sock, path.join(dir, 'innocent'));
      const d = desiredContainers(stackFileSchema.parse(parse(`name: demo\nuis:\n  ui: { image: x, volumes: ["./innocent:/sock"] }\n`)), { stackDir: dir });
      assert.equal(planStack(d, state([])).hostMounts?.[0].warning, undefined, 'without realpath the name looks harmless');
      const p = planStack(d, state([]), { realpath: realHostPath });
      assert.equal(p.hostMounts?.[0].source, fs.realpathSync(sock));
      assert.match(formatPlan(p), /! warning: ui: bind mount .*docker\.sock is the container engine's socket/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
