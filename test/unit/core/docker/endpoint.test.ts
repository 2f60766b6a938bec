// Unit tests for src/core/docker/endpoint.ts: parseHost and resolveEndpoints against a real temporary ~/.docker folder.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTextFile } from '../../../../src/core/docker/connection';
import { Endpoint, EndpointError, parseHost, resolveEndpoints, ResolveInput } from '../../../../src/core/docker/endpoint';

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function contextId(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** Writes a Docker CLI context the way `docker context create` lays it out. */
function writeContext(configDir: string, name: string, host: string, tls?: { ca?: string; cert?: string; key?: string }): void {
  const id = contextId(name);
  write(
    path.join(configDir, 'contexts', 'meta', id, 'meta.json'),
    JSON.stringify({ Name: name, Metadata: { Description: 'test' }, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }),
  );
  if (tls) {
    const dir = path.join(configDir, 'contexts', 'tls', id, 'docker');
    if (tls.ca) write(path.join(dir, 'ca.pem'), tls.ca);
    if (tls.cert) write(path.join(dir, 'cert.pem'), tls.cert);
    if (tls.key) write(path.join(dir, 'key.pem'), tls.key);
  }
}

function writeCerts(dir: string, which: { ca?: boolean; cert?: boolean; key?: boolean } = { ca: true, cert: true, key: true }): void {
  if (which.ca) write(path.join(dir, 'ca.pem'), CA);
  if (which.cert) write(path.join(dir, 'cert.pem'), CERT);
  if (which.key) write(path.join(dir, 'key.pem'), KEY);
}

function urls(endpoints: readonly Endpoint[]): string[] {
  return endpoints.map((e) => e.url);
}

describe('endpoint resolution (unit)', () => {
  let tmp: string;
  let home: string;
  let dockerDir: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-endpoint-'));
    home = path.join(tmp, 'home');
    dockerDir = path.join(home, '.docker');
    fs.mkdirSync(dockerDir, { recursive: true });
  });

  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function input(over: Partial<ResolveInput> = {}): ResolveInput {
    return { env: {}, homedir: home, platform: 'linux', uid: 1000, readFile: readTextFile, ...over };
  }

  describe('parseHost', () => {
    it('parses unix sockets', () => {
      assert.deepEqual(parseHost('unix:///var/run/docker.sock'), {
        options: { socketPath: '/var/run/docker.sock' },
        socketPath: '/var/run/docker.sock',
      });
      assert.deepEqual(parseHost('  UNIX:///tmp/x.sock  ').socketPath, '/tmp/x.sock');
    });

    it('rejects a relative unix socket path', () => {
      assert.throws(() => parseHost('unix://var/run/docker.sock'), (e: unknown) => e instanceof EndpointError && /must be absolute/.test(e.message));
    });

    it('parses named pipes into a Windows pipe path', () => {
      assert.deepEqual(parseHost('npipe:////./pipe/docker_engine'), {
        options: { socketPath: '\\\\.\\pipe\\docker_engine' },
        socketPath: '\\\\.\\pipe\\docker_engine',
      });
      assert.equal(parseHost('npipe:////./pipe/podman-machine-default').socketPath, '\\\\.\\pipe\\podman-machine-default');
      assert.equal(parseHost('npipe://\\\\.\\pipe\\dockerDesktopEngine').socketPath, '\\\\.\\pipe\\dockerDesktopEngine');
    });

    it('rejects an npipe URL that is not a pipe', () => {
      assert.throws(() => parseHost('npipe:////./notapipe/x'), (e: unknown) => e instanceof EndpointError && /not a named pipe/.test(e.message));
      assert.throws(() => parseHost('npipe:////./pipe/'), EndpointError);
    });

    it('parses tcp without TLS on port 2375 by default', () => {
      assert.deepEqual(parseHost('tcp://192.168.1.10'), { options: { host: '192.168.1.10', port: 2375, protocol: 'http' } });
      assert.deepEqual(parseHost('tcp://docker.example.com:12375'), { options: { host: 'docker.example.com', port: 12375, protocol: 'http' } });
      assert.deepEqual(parseHost('http://localhost:2375/'), { options: { host: 'localhost', port: 2375, protocol: 'http' } });
    });

    it('keeps an explicit port 80 (the http default that URL parsing drops)', () => {
      assert.equal(parseHost('tcp://proxy.local:80').options.port, 80);
      assert.equal(parseHost('tcp://[::1]:80').options.port, 80);
      assert.equal(parseHost('tcp://proxy.local').options.port, 2375);
    });

    it('uses https and port 2376 by default for https:// or when TLS files are given', () => {
      assert.deepEqual(parseHost('https://docker.example.com'), { options: { host: 'docker.example.com', port: 2376, protocol: 'https' } });
      assert.deepEqual(parseHost('tcp://10.0.0.1', { ca: CA, cert: CERT, key: KEY }), {
        options: { host: '10.0.0.1', port: 2376, protocol: 'https', ca: CA, cert: CERT, key: KEY },
      });
      assert.deepEqual(parseHost('tcp://10.0.0.1:3000', { ca: CA }), { options: { host: '10.0.0.1', port: 3000, protocol: 'https', ca: CA } });
    });

    it('uses https when TLS verification is asked for even if no TLS file could be read', () => {
      assert.deepEqual(parseHost('tcp://10.0.0.1', { verify: true }), { options: { host: '10.0.0.1', port: 2376, protocol: 'https' } });
    });

    it('stays on plain http when the TLS object holds no files', () => {
      assert.deepEqual(parseHost('tcp://10.0.0.1', {}), { options: { host: '10.0.0.1', port: 2375, protocol: 'http' } });
    });

    it('strips the brackets of an IPv6 host', () => {
      assert.deepEqual(parseHost('tcp://[::1]:2375'), { options: { host: '::1', port: 2375, protocol: 'http' } });
    });

    it('rejects tcp URLs without a valid host:port', () => {
      assert.throws(() => parseHost('tcp://'), (e: unknown) => e instanceof EndpointError && /no valid host:port/.test(e.message));
      assert.throws(() => parseHost('tcp://host:notaport'), EndpointError);
      assert.throws(() => parseHost('tcp://host:99999'), EndpointError);
    });

    it('parses ssh with user and port, defaulting to 22', () => {
      assert.deepEqual(parseHost('ssh://me@build-box:2222').options, { protocol: 'ssh', host: 'build-box', port: 2222, username: 'me' });
      assert.deepEqual(parseHost('ssh://build-box').options, { protocol: 'ssh', host: 'build-box', port: 22, username: undefined });
      assert.equal(parseHost('ssh://build-box').socketPath, undefined);
    });

    it('rejects an invalid ssh host', () => {
      assert.throws(() => parseHost('ssh://a b'), (e: unknown) => e instanceof EndpointError && /not a valid ssh/.test(e.message));
    });

    it('rejects unsupported schemes, garbage and empty text', () => {
      assert.throws(() => parseHost('fd://3'), (e: unknown) => e instanceof EndpointError && /scheme "fd" is not supported/.test(e.message));
      assert.throws(() => parseHost('localhost:2375'), (e: unknown) => e instanceof EndpointError && /is not a Docker host URL/.test(e.message));
      assert.throws(() => parseHost('/var/run/docker.sock'), /is not a Docker host URL/);
      assert.throws(() => parseHost('  '), (e: unknown) => e instanceof EndpointError && e.message === 'The Docker host is empty.');
      assert.throws(() => parseHost('tcp:/host'), /is not a Docker host URL/);
    });

    it('names its errors EndpointError', () => {
      assert.equal(new EndpointError('x').name, 'EndpointError');
    });
  });

  describe('precedence', () => {
    beforeEach(() => {
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ currentContext: 'colima' }));
      writeContext(dockerDir, 'colima', 'unix:///colima/docker.sock');
    });

    it('the setting beats DOCKER_HOST and the context', () => {
      const r = resolveEndpoints(input({ settingHost: ' tcp://from-setting:2375 ', env: { DOCKER_HOST: 'tcp://from-env:2375' } }));
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.candidates, [
        {
          url: 'tcp://from-setting:2375',
          source: 'setting',
          origin: 'setting llmStack.docker.host',
          tls: false,
          options: { host: 'from-setting', port: 2375, protocol: 'http' },
        },
      ]);
    });

    it('DOCKER_HOST beats the context', () => {
      const r = resolveEndpoints(input({ settingHost: '   ', env: { DOCKER_HOST: 'unix:///env/docker.sock' } }));
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.candidates, [
        {
          url: 'unix:///env/docker.sock',
          source: 'DOCKER_HOST',
          origin: 'environment variable DOCKER_HOST',
          tls: false,
          options: { socketPath: '/env/docker.sock' },
          socketPath: '/env/docker.sock',
        },
      ]);
    });

    it('the current context beats the default sockets', () => {
      const r = resolveEndpoints(input({ env: { DOCKER_HOST: '  ' } }));
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.candidates, [
        {
          url: 'unix:///colima/docker.sock',
          source: 'context',
          origin: 'Docker context "colima"',
          tls: false,
          options: { socketPath: '/colima/docker.sock' },
          socketPath: '/colima/docker.sock',
        },
      ]);
    });

    it('without any of them the default sockets are the candidates', () => {
      fs.rmSync(path.join(dockerDir, 'config.json'));
      const r = resolveEndpoints(input());
      assert.deepEqual(r.problems, []);
      assert.ok(r.candidates.length > 1);
      assert.ok(r.candidates.every((c) => c.source === 'default' && !c.tls));
    });
  });

  describe('setting', () => {
    it('an invalid setting gives a problem and no candidates, even when DOCKER_HOST is set', () => {
      const r = resolveEndpoints(input({ settingHost: 'docker.example.com:2375', env: { DOCKER_HOST: 'unix:///var/run/docker.sock' } }));
      assert.deepEqual(r.candidates, []);
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0], /^Setting llmStack\.docker\.host: "docker\.example\.com:2375" is not a Docker host URL\./);
      assert.match(r.problems[0], /Fix it in Settings or clear it to use the defaults\.$/);
    });

    it('reads the TLS files of llmStack.docker.tlsCertPath', () => {
      const certDir = path.join(tmp, 'certs');
      writeCerts(certDir);
      const r = resolveEndpoints(input({ settingHost: 'tcp://secure.example.com', settingCertPath: ` ${certDir} ` }));
      assert.deepEqual(r.problems, []);
      assert.equal(r.candidates.length, 1);
      assert.equal(r.candidates[0].tls, true);
      assert.deepEqual(r.candidates[0].options, { host: 'secure.example.com', port: 2376, protocol: 'https', ca: CA, cert: CERT, key: KEY });
    });

    it('reports the TLS files missing from llmStack.docker.tlsCertPath and still uses TLS', () => {
      const certDir = path.join(tmp, 'half-certs');
      writeCerts(certDir, { ca: true });
      const r = resolveEndpoints(input({ settingHost: 'tcp://secure.example.com', settingCertPath: certDir }));
      assert.deepEqual(r.problems, [`llmStack.docker.tlsCertPath: cert.pem, key.pem not found in ${certDir}.`]);
      assert.equal(r.candidates[0].tls, true);
      assert.deepEqual(r.candidates[0].options, { host: 'secure.example.com', port: 2376, protocol: 'https', ca: CA });
    });

    it('a cert path without any cert file is a problem, and the host stays on TLS', () => {
      const certDir = path.join(tmp, 'no-certs');
      const r = resolveEndpoints(input({ settingHost: 'tcp://secure.example.com', settingCertPath: certDir }));
      assert.deepEqual(r.problems, [`llmStack.docker.tlsCertPath: ca.pem, cert.pem, key.pem not found in ${certDir}.`]);
      assert.equal(r.candidates[0].tls, true);
      assert.deepEqual(r.candidates[0].options, { host: 'secure.example.com', port: 2376, protocol: 'https' });
    });

    it('an empty cert path means no TLS', () => {
      const r = resolveEndpoints(input({ settingHost: 'tcp://plain.example.com', settingCertPath: '  ' }));
      assert.deepEqual(r.problems, []);
      assert.equal(r.candidates[0].tls, false);
      assert.deepEqual(r.candidates[0].options, { host: 'plain.example.com', port: 2375, protocol: 'http' });
    });
  });

  describe('DOCKER_HOST', () => {
    it('with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH reads ca/cert/key and uses https on 2376', () => {
      const certDir = path.join(tmp, 'machine-certs');
      writeCerts(certDir);
      const r = resolveEndpoints(input({ env: { DOCKER_HOST: 'tcp://192.168.99.100', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } }));
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.candidates, [
        {
          url: 'tcp://192.168.99.100',
          source: 'DOCKER_HOST',
          origin: 'environment variable DOCKER_HOST',
          tls: true,
          options: { host: '192.168.99.100', port: 2376, protocol: 'https', ca: CA, cert: CERT, key: KEY },
        },
      ]);
    });

    it('an explicit port wins over the TLS default', () => {
      const certDir = path.join(tmp, 'machine-certs');
      writeCerts(certDir);
      const r = resolveEndpoints(input({ env: { DOCKER_HOST: 'tcp://192.168.99.100:2375', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } }));
      assert.equal(r.candidates[0].options.port, 2375);
      assert.equal(r.candidates[0].options.protocol, 'https');
    });

    it('without DOCKER_CERT_PATH the certificates come from ~/.docker', () => {
      writeCerts(dockerDir);
      const r = resolveEndpoints(input({ env: { DOCKER_HOST: 'tcp://10.1.1.1', DOCKER_TLS_VERIFY: 'yes' } }));
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.candidates[0].options, { host: '10.1.1.1', port: 2376, protocol: 'https', ca: CA, cert: CERT, key: KEY });
    });

    it('missing cert files produce a problem text naming them and the folder, and TLS is still required', () => {
      const certDir = path.join(tmp, 'empty-certs');
      fs.mkdirSync(certDir);
      const r = resolveEndpoints(input({ env: { DOCKER_HOST: 'tcp://10.1.1.1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } }));
      assert.deepEqual(r.problems, [`DOCKER_TLS_VERIFY: ca.pem, cert.pem, key.pem not found in ${certDir}.`]);
      assert.equal(r.candidates.length, 1);
      assert.equal(r.candidates[0].tls, true);
      assert.deepEqual(r.candidates[0].options, { host: '10.1.1.1', port: 2376, protocol: 'https' });
    });

    it('one missing cert file is named alone', () => {
      const certDir = path.join(tmp, 'no-key');
      writeCerts(certDir, { ca: true, cert: true });
      const r = resolveEndpoints(input({ env: { DOCKER_HOST: 'tcp://10.1.1.1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } }));
      assert.deepEqual(r.problems, [`DOCKER_TLS_VERIFY: key.pem not found in ${certDir}.`]);
      assert.deepEqual(r.candidates[0].options, { host: '10.1.1.1', port: 2376, protocol: 'https', ca: CA, cert: CERT });
    });

    it('DOCKER_TLS_VERIFY=0 or empty means no TLS and no cert reading', () => {
      for (const verify of ['0', '']) {
        const r = resolveEndpoints(input({ env: { DOCKER_HOST: 'tcp://10.1.1.1', DOCKER_TLS_VERIFY: verify, DOCKER_CERT_PATH: path.join(tmp, 'nowhere') } }));
        assert.deepEqual(r.problems, [], `DOCKER_TLS_VERIFY=${JSON.stringify(verify)}`);
        assert.deepEqual(r.candidates[0].options, { host: '10.1.1.1', port: 2375, protocol: 'http' });
        assert.equal(r.candidates[0].tls, false);
      }
    });

    it('an invalid DOCKER_HOST gives a problem and no candidates (no silent fallback)', () => {
      writeContext(dockerDir, 'colima', 'unix:///colima/docker.sock');
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ currentContext: 'colima' }));
      const r = resolveEndpoints(input({ env: { DOCKER_HOST: 'ftp://x' } }));
      assert.deepEqual(r.candidates, []);
      assert.deepEqual(r.problems, ['DOCKER_HOST: "ftp://x": the scheme "ftp" is not supported (use unix, tcp, npipe or ssh).']);
    });
  });

  describe('Docker context', () => {
    it('DOCKER_CONTEXT picks the context without reading config.json', () => {
      write(path.join(dockerDir, 'config.json'), '{ this is not json');
      writeContext(dockerDir, 'remote', 'tcp://remote.example.com:2375');
      const r = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'remote' } }));
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.candidates, [
        {
          url: 'tcp://remote.example.com:2375',
          source: 'context',
          origin: 'Docker context "remote"',
          tls: false,
          options: { host: 'remote.example.com', port: 2375, protocol: 'http' },
        },
      ]);
    });

    it('DOCKER_CONTEXT wins over currentContext in config.json', () => {
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ currentContext: 'colima' }));
      writeContext(dockerDir, 'colima', 'unix:///colima.sock');
      writeContext(dockerDir, 'rancher', 'unix:///rancher.sock');
      const r = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'rancher' } }));
      assert.deepEqual(urls(r.candidates), ['unix:///rancher.sock']);
    });

    it('uses currentContext from config.json, ignoring the other keys', () => {
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': {} }, credsStore: 'desktop', currentContext: 'desktop-linux' }));
      writeContext(dockerDir, 'desktop-linux', `unix://${home}/.docker/desktop/docker.sock`);
      const r = resolveEndpoints(input());
      assert.deepEqual(r.problems, []);
      assert.deepEqual(urls(r.candidates), [`unix://${home}/.docker/desktop/docker.sock`]);
      assert.equal(r.candidates[0].origin, 'Docker context "desktop-linux"');
    });

    it('honours DOCKER_CONFIG as the config folder', () => {
      const other = path.join(tmp, 'other-config');
      write(path.join(other, 'config.json'), JSON.stringify({ currentContext: 'ctx' }));
      writeContext(other, 'ctx', 'unix:///other.sock');
      writeContext(dockerDir, 'ctx', 'unix:///wrong.sock');
      const r = resolveEndpoints(input({ env: { DOCKER_CONFIG: other } }));
      assert.deepEqual(urls(r.candidates), ['unix:///other.sock']);
    });

    it('reads the context TLS files and uses https', () => {
      writeContext(dockerDir, 'secure', 'tcp://secure.example.com', { ca: CA, cert: CERT, key: KEY });
      const r = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'secure' } }));
      assert.deepEqual(r.problems, []);
      assert.equal(r.candidates[0].tls, true);
      assert.deepEqual(r.candidates[0].options, { host: 'secure.example.com', port: 2376, protocol: 'https', ca: CA, cert: CERT, key: KEY });
    });

    it('an invalid config.json is a problem, and the default sockets are used', () => {
      write(path.join(dockerDir, 'config.json'), '{"currentContext": ');
      const r = resolveEndpoints(input());
      assert.deepEqual(r.problems, [`${path.join(dockerDir, 'config.json')} is not valid JSON; its current context was ignored.`]);
      assert.equal(r.candidates[0].url, 'unix:///var/run/docker.sock');
      assert.ok(r.candidates.every((c) => c.source === 'default'));
    });

    it('a config.json whose currentContext is not a string is a problem too', () => {
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ currentContext: 42 }));
      const r = resolveEndpoints(input());
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0], /its current context was ignored/);
      assert.ok(r.candidates.every((c) => c.source === 'default'));
    });

    it('a config.json without currentContext uses the default sockets without a problem', () => {
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ auths: {} }));
      const r = resolveEndpoints(input());
      assert.deepEqual(r.problems, []);
      assert.equal(r.candidates[0].source, 'default');
    });

    it('the "default" context falls to the default sockets', () => {
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ currentContext: 'default' }));
      const fromConfig = resolveEndpoints(input());
      const fromEnv = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'default' } }));
      const none = resolveEndpoints(input({ readFile: () => undefined }));
      for (const r of [fromConfig, fromEnv]) {
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.candidates, none.candidates);
      }
    });

    it('a context without meta.json is a problem naming the context, and falls back to the defaults', () => {
      const r = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'ghost' } }));
      const metaFile = path.join(dockerDir, 'contexts', 'meta', contextId('ghost'), 'meta.json');
      assert.deepEqual(r.problems, [`Docker context "ghost" (DOCKER_CONTEXT) has no ${metaFile}; run \`docker context ls\` to check it.`]);
      assert.equal(r.candidates[0].source, 'default');
    });

    it('names the config file as the origin of a current context that has no meta.json', () => {
      write(path.join(dockerDir, 'config.json'), JSON.stringify({ currentContext: 'ghost' }));
      const r = resolveEndpoints(input());
      assert.match(r.problems[0], /^Docker context "ghost" \(current Docker context\) has no /);
    });

    it('a context meta.json without a docker endpoint is a problem', () => {
      write(path.join(dockerDir, 'contexts', 'meta', contextId('k8s'), 'meta.json'), JSON.stringify({ Name: 'k8s', Endpoints: { kubernetes: {} } }));
      write(path.join(dockerDir, 'contexts', 'meta', contextId('broken'), 'meta.json'), 'not json');
      const k8s = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'k8s' } }));
      assert.deepEqual(k8s.problems, [`Docker context "k8s" has no docker endpoint in ${path.join(dockerDir, 'contexts', 'meta', contextId('k8s'), 'meta.json')}.`]);
      assert.equal(k8s.candidates[0].source, 'default');
      const broken = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'broken' } }));
      assert.match(broken.problems[0], /^Docker context "broken" has no docker endpoint in /);
    });

    it('a context whose host cannot be parsed is a problem', () => {
      writeContext(dockerDir, 'odd', 'unix://relative/path.sock');
      const r = resolveEndpoints(input({ env: { DOCKER_CONTEXT: 'odd' } }));
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0], /^Docker context "odd": "unix:\/\/relative\/path\.sock": a unix socket path must be absolute/);
      assert.equal(r.candidates[0].source, 'default');
    });
  });

  describe('default sockets', () => {
    const noFiles = () => undefined;

    it('linux: Docker Engine, Docker Desktop, rootless Podman from XDG_RUNTIME_DIR, rootful Podman', () => {
      const r = resolveEndpoints({ env: { XDG_RUNTIME_DIR: '/run/user/4242' }, homedir: '/home/ann', platform: 'linux', uid: 1000, readFile: noFiles });
      assert.deepEqual(r.problems, []);
      assert.deepEqual(
        r.candidates.map((c) => [c.url, c.origin, c.socketPath]),
        [
          ['unix:///var/run/docker.sock', 'Docker Engine', '/var/run/docker.sock'],
          ['unix:///home/ann/.docker/run/docker.sock', 'Docker Desktop', '/home/ann/.docker/run/docker.sock'],
          ['unix:///home/ann/.docker/desktop/docker.sock', 'Docker Desktop', '/home/ann/.docker/desktop/docker.sock'],
          ['unix:///run/user/4242/podman/podman.sock', 'Podman (rootless)', '/run/user/4242/podman/podman.sock'],
          ['unix:///run/podman/podman.sock', 'Podman (rootful)', '/run/podman/podman.sock'],
        ],
      );
      for (const c of r.candidates) {
        assert.equal(c.source, 'default');
        assert.equal(c.tls, false);
        assert.deepEqual(c.options, { socketPath: c.socketPath });
      }
    });

    it('linux: the rootless Podman socket falls back to /run/user/<uid>', () => {
      const r = resolveEndpoints({ env: {}, homedir: '/home/ann', platform: 'linux', uid: 1001, readFile: noFiles });
      assert.ok(urls(r.candidates).includes('unix:///run/user/1001/podman/podman.sock'));
    });

    it('linux: no rootless Podman for root, even with XDG_RUNTIME_DIR', () => {
      for (const env of [{}, { XDG_RUNTIME_DIR: '/run/user/0' }]) {
        const r = resolveEndpoints({ env, homedir: '/root', platform: 'linux', uid: 0, readFile: noFiles });
        assert.deepEqual(urls(r.candidates), [
          'unix:///var/run/docker.sock',
          'unix:///root/.docker/run/docker.sock',
          'unix:///root/.docker/desktop/docker.sock',
          'unix:///run/podman/podman.sock',
        ]);
      }
    });

    it('linux: no rootless Podman when neither XDG_RUNTIME_DIR nor the uid is known', () => {
      const r = resolveEndpoints({ env: {}, homedir: '/home/ann', platform: 'linux', readFile: noFiles });
      assert.ok(!r.candidates.some((c) => c.origin === 'Podman (rootless)'));
      assert.equal(r.candidates.length, 4);
    });

    it('linux: a socket path listed twice is tried once', () => {
      const r = resolveEndpoints({ env: { XDG_RUNTIME_DIR: '/run' }, homedir: '/home/ann', platform: 'linux', uid: 1000, readFile: noFiles });
      const list = urls(r.candidates);
      assert.equal(list.filter((u) => u === 'unix:///run/podman/podman.sock').length, 1);
      assert.equal(new Set(list).size, list.length);
      assert.equal(r.candidates.find((c) => c.url === 'unix:///run/podman/podman.sock')?.origin, 'Podman (rootless)');
    });

    it('darwin: Docker Engine, Docker Desktop, Colima and the Podman machine', () => {
      const r = resolveEndpoints({ env: { XDG_RUNTIME_DIR: '/tmp/xdg' }, homedir: '/Users/ann', platform: 'darwin', uid: 501, readFile: noFiles });
      assert.deepEqual(
        r.candidates.map((c) => [c.url, c.origin]),
        [
          ['unix:///var/run/docker.sock', 'Docker Engine'],
          ['unix:///Users/ann/.docker/run/docker.sock', 'Docker Desktop'],
          ['unix:///Users/ann/.colima/default/docker.sock', 'Colima'],
          ['unix:///Users/ann/.local/share/containers/podman/machine/podman.sock', 'Podman machine'],
        ],
      );
    });

    it('win32: the Docker Engine and Podman machine named pipes', () => {
      const r = resolveEndpoints({ env: {}, homedir: 'C:\\Users\\ann', platform: 'win32', readFile: noFiles });
      assert.deepEqual(r.candidates, [
        {
          url: 'npipe:////./pipe/docker_engine',
          source: 'default',
          origin: 'Docker Engine / Docker Desktop',
          tls: false,
          options: { socketPath: '\\\\.\\pipe\\docker_engine' },
          socketPath: '\\\\.\\pipe\\docker_engine',
        },
        {
          url: 'npipe:////./pipe/podman-machine-default',
          source: 'default',
          origin: 'Podman machine',
          tls: false,
          options: { socketPath: '\\\\.\\pipe\\podman-machine-default' },
          socketPath: '\\\\.\\pipe\\podman-machine-default',
        },
      ]);
    });

    it('other platforms: the Docker Engine and Docker Desktop sockets only', () => {
      const r = resolveEndpoints({ env: {}, homedir: '/home/ann', platform: 'freebsd', uid: 1000, readFile: noFiles });
      assert.deepEqual(urls(r.candidates), ['unix:///var/run/docker.sock', 'unix:///home/ann/.docker/run/docker.sock']);
    });
  });

  describe('readTextFile', () => {
    it('returns the text of a file and undefined for a missing one or a folder', () => {
      const f = path.join(tmp, 'a.txt');
      fs.writeFileSync(f, 'héllo\n');
      assert.equal(readTextFile(f), 'héllo\n');
      assert.equal(readTextFile(path.join(tmp, 'missing.txt')), undefined);
      assert.equal(readTextFile(tmp), undefined);
    });
  });
});
