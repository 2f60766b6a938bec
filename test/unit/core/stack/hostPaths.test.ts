// Unit tests for src/core/stack/hostPaths.ts: which host paths are sensitive, every bind and device a
// container gets, and the warnings straight from a stack file (links resolved on real files).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import type { DesiredService } from '../../../../src/core/stack/containerSpec';
import { hostMounts, hostPathWarnings, realHostPath, resolveHostPath, sensitiveHostPath, stackHostPathWarnings } from '../../../../src/core/stack/hostPaths';
import { stackFileSchema } from '../../../../src/core/stack/schema';

const HOME = '/home/me';

describe('stack host paths (unit)', () => {
  it('names what makes a host path sensitive', () => {
    const cases: [string, RegExp | undefined][] = [
      ['/var/run/docker.sock', /engine's socket/],
      ['/run/user/1000/podman/podman.sock', /engine's socket/],
      ['/', /whole host file system/],
      ['/etc', /system folder \(\/etc\)/],
      ['/etc/ssl/certs/', /system folder \(\/etc\)/],
      ['/root', /system folder \(\/root\)/],
      ['/proc', /system folder/],
      ['/sys/fs/cgroup', /system folder \(\/sys\)/],
      ['/var/run', /system folder \(\/var\/run\)/],
      ['/run/secrets', /system folder \(\/run\)/],
      ['/var', /contains \/var\/run/],
      ['/home', /contains .*~\/\.ssh/],
      [HOME, /the home folder/],
      [`${HOME}/`, /the home folder/],
      [`${HOME}/.ssh`, /credentials \(~\/\.ssh\)/],
      [`${HOME}/.aws/credentials`, /credentials \(~\/\.aws\)/],
      [`${HOME}/.docker`, /credentials/],
      [`${HOME}/.kube/config`, /credentials \(~\/\.kube\)/],
      [`${HOME}/.gnupg`, /credentials/],
      [`${HOME}/models`, undefined],
      [`${HOME}/.ssh-notes`, undefined],
      ['/srv/llm/models', undefined],
      ['/etcetera', undefined],
      ['/var/lib/models', undefined],
    ];
    for (const [p, expected] of cases) {
      const got = sensitiveHostPath(p, HOME);
      if (expected) assert.match(got ?? '', expected, p);
      else assert.equal(got, undefined, p);
    }
    // When the home is /root, what lies in it is the user's own; its credentials are not.
    assert.equal(sensitiveHostPath('/root/models', '/root'), undefined);
    assert.match(sensitiveHostPath('/root/.ssh', '/root') ?? '', /credentials/);
    assert.match(sensitiveHostPath('/root', '/root') ?? '', /the home folder/);
  });

  it('resolves "~", relative and absolute sources as an apply does', () => {
    assert.equal(resolveHostPath('~', '/p', HOME), HOME);
    assert.equal(resolveHostPath('~/m', '/p', HOME), `${HOME}/m`);
    assert.equal(resolveHostPath('./d', '/p', HOME), '/p/d');
    assert.equal(resolveHostPath('../d', '/p/q', HOME), '/p/d');
    assert.equal(resolveHostPath('/abs', '/p', HOME), '/abs');
  });

  it('lists binds, bind mounts and devices of each container, not named volumes', () => {
    const svc = (service: string, hostConfig: DesiredService['create']['HostConfig']) => ({ service, create: { HostConfig: hostConfig } }) as DesiredService;
    const mounts = hostMounts(
      [
        svc('a', { Binds: ['demo_models:/models', '/data:/data:ro', '/var/run/docker.sock:/var/run/docker.sock:rw'] }),
        svc('b', { Mounts: [{ Type: 'bind', Source: '/etc', Target: '/host-etc', ReadOnly: true }, { Type: 'volume', Source: 'v', Target: '/v' }] }),
        svc('c', { Devices: [{ PathOnHost: '/dev/dri', PathInContainer: '', CgroupPermissions: 'r' }, { PathOnHost: '/dev/kfd', PathInContainer: '/dev/kfd', CgroupPermissions: 'rwm' }] }),
        svc('d', undefined),
      ],
      { home: HOME },
    );
    assert.deepEqual(
      mounts.map((m) => `${m.service} ${m.kind} ${m.source}→${m.target}${m.readOnly ? ' ro' : ''}${m.warning ? ' !' : ''}`),
      ['a bind /data→/data ro', 'a bind /var/run/docker.sock→/var/run/docker.sock !', 'b bind /etc→/host-etc ro !', 'c device /dev/dri→/dev/dri ro !', 'c device /dev/kfd→/dev/kfd !'],
    );
    assert.deepEqual(
      hostPathWarnings(mounts).map((w) => [w.service, w.path]),
      [
        ['a', '/var/run/docker.sock'],
        ['b', '/etc'],
        ['c', '/dev/dri'],
        ['c', '/dev/kfd'],
      ],
    );
    assert.match(hostPathWarnings(mounts)[2].message, /^c: device \/dev\/dri is a system folder \(\/dev\) \(read-only\)\.$/);
  });

  it('warns straight from a stack file, with links resolved on the real file system', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-hostpaths-'));
    try {
      fs.mkdirSync(path.join(dir, 'models'));
      fs.symlinkSync('/etc', path.join(dir, 'config'));
      const file = stackFileSchema.parse(
        parse(`
name: demo
runtimes:
  ollama: { kind: ollama, image: ollama/ollama, volumes: ["./models:/models", "models:/root/.ollama", "./config:/cfg:ro"] }
uis:
  ui: { image: x, volumes: ["~/.kube:/kube", "~/work:/work"] }
`),
      );
      const warnings = stackHostPathWarnings(file, dir, { realpath: realHostPath, home: HOME });
      assert.deepEqual(
        warnings.map((w) => w.message),
        ['ollama: bind mount /etc is a system folder (/etc) (read-only).', `ui: bind mount ${HOME}/.kube is credentials (~/.kube).`],
      );
      assert.deepEqual(stackHostPathWarnings(file, dir, { home: HOME }).map((w) => w.service), ['ui'], 'the link is seen only with realpath');
      assert.equal(realHostPath(path.join(dir, 'missing')), path.join(dir, 'missing'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
