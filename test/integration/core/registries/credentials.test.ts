// The user's registry credentials where the Docker CLI keeps them: config.json's auths, and a
// credential helper run as the Docker CLI runs one (docker/docker-credential-helpers
// client/client.go: `get`, the server URL on stdin, {"Username","Secret"} on stdout). The helper
// here is a real executable speaking that protocol from a file of logins.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dockerCredentials } from '../../../../src/core/registries/credentials';

describe('registry credentials from the Docker CLI configuration (integration)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-dockercfg-'));
  const bin = path.join(dir, 'bin');
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  const write = (config: unknown) => fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));

  before(() => {
    fs.mkdirSync(bin);
    // A helper: answers the server it is asked for from logins.json, exits 1 for an unknown one.
    fs.writeFileSync(path.join(dir, 'logins.json'), JSON.stringify({ 'ghcr.io': { Username: 'ann', Secret: 's3cret' } }));
    fs.writeFileSync(
      path.join(bin, 'docker-credential-test'),
      `#!/usr/bin/env node\nif (process.argv[2] !== 'get') process.exit(2);\nlet s='';process.stdin.on('data',(d)=>s+=d).on('end',()=>{const l=require(${JSON.stringify(path.join(dir, 'logins.json'))})[s.trim()];if(!l){console.log('credentials not found in native keychain');process.exit(1)}process.stdout.write(JSON.stringify({ServerURL:s.trim(),...l}))});\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin, 'docker-credential-hang'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads auths (base64 user:password, Docker Hub under its index key) and a helper per host, falling back to auths', async () => {
    write({
      auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') }, '127.0.0.1:5000': { auth: Buffer.from('me:pw:with:colons').toString('base64') }, 'ghcr.io': { auth: Buffer.from('old:old').toString('base64') } },
      credHelpers: { 'ghcr.io': 'test', 'quay.io': 'test' },
    });
    assert.deepEqual(await dockerCredentials('registry-1.docker.io', { configDir: dir, env }), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(await dockerCredentials('127.0.0.1:5000', { configDir: dir, env }), { username: 'me', password: 'pw:with:colons' });
    assert.deepEqual(await dockerCredentials('ghcr.io', { configDir: dir, env }), { username: 'ann', password: 's3cret' }, 'the helper wins over auths');
    assert.equal(await dockerCredentials('quay.io', { configDir: dir, env }), undefined, 'the helper knows none, auths neither');
    assert.equal(await dockerCredentials('example.org', { configDir: dir, env }), undefined);
  });

  it('a default store, a helper that hangs (bounded), a helper name that could run something else, and no or broken config give nothing', async () => {
    write({ credsStore: 'test' });
    assert.deepEqual(await dockerCredentials('ghcr.io', { configDir: dir, env }), { username: 'ann', password: 's3cret' });
    write({ credsStore: 'hang', auths: { 'ghcr.io': { username: 'u', password: 'p' } } });
    const t0 = Date.now();
    assert.deepEqual(await dockerCredentials('ghcr.io', { configDir: dir, env, helperTimeoutMs: 300 }), { username: 'u', password: 'p' }, 'after the helper timed out, auths');
    assert.ok(Date.now() - t0 < 5000);
    write({ credsStore: '../../bin/sh' });
    assert.equal(await dockerCredentials('ghcr.io', { configDir: dir, env }), undefined);
    fs.writeFileSync(path.join(dir, 'config.json'), '{ not json');
    assert.equal(await dockerCredentials('ghcr.io', { configDir: dir, env }), undefined);
    assert.equal(await dockerCredentials('ghcr.io', { configDir: path.join(dir, 'none'), env }), undefined);
  });
});
