// Tests the registry's AES-256-GCM file encryption: nothing readable on disk, reopening with the key, and wrong or missing keys leaving the file untouched.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decode, encrypt, fileKind } from '../../../../src/core/registry/fileStore';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { assertRejectsRegistryError, listDir, modelNames, sandbox, seed, sha256 } from './support';

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

describe('registry encryption (unit)', () => {
  const box = sandbox();

  it('a file written with a key is not plain SQLite and reopens with the key', async () => {
    const file = box.file();
    const key = randomBytes(32);
    const r = await box.registry({ file, key });
    assert.equal(r.encrypted, true);
    seed(new RegistryRepositories(r), 'secret');
    await r.close();

    const bytes = fs.readFileSync(file);
    assert.equal(fileKind(bytes), 'encrypted');
    assert.ok(!bytes.subarray(0, 16).equals(SQLITE_HEADER), 'no SQLite header');
    assert.equal(bytes.indexOf(SQLITE_HEADER), -1);
    assert.equal(bytes.indexOf(Buffer.from('secret-llama')), -1, 'model names are not readable in the file');
    assert.equal(bytes.indexOf(Buffer.from('CREATE TABLE')), -1, 'nor is the schema');

    const again = await box.registry({ file, key: Buffer.from(key) });
    assert.equal(again.recovery, undefined);
    assert.deepEqual(modelNames(new RegistryRepositories(again)), ['secret-llama', 'secret-qwen']);
  });

  for (const [what, key] of [
    ['a wrong key', randomBytes(32)],
    ['no key', undefined],
  ] as const) {
    it(`${what}: throws kind 'key' and leaves the file byte-identical where it is`, async () => {
      const dir = box.dir();
      const file = path.join(dir, 'registry.sqlite');
      const right = randomBytes(32);
      const r = await Registry.open({ file, key: right });
      seed(new RegistryRepositories(r));
      await r.backupNow();
      await r.close();
      const hash = sha256(file);
      const names = listDir(dir);

      await assertRejectsRegistryError(Registry.open({ file, key }), 'key', key ? /could not be decrypted/ : /is encrypted, but no key/);
      assert.equal(sha256(file), hash);
      assert.deepEqual(listDir(dir), names, 'nothing moved aside, nothing restored, nothing written');

      // The right key still opens it.
      const ok = await box.registry({ file, key: right });
      assert.equal(ok.recovery, undefined);
      assert.equal(modelNames(new RegistryRepositories(ok)).length, 2);
    });
  }

  it('a plain file opened with a key is encrypted by the next save', async () => {
    const file = box.file();
    const plain = await Registry.open({ file });
    seed(new RegistryRepositories(plain), 'plain');
    await plain.close();
    assert.equal(fileKind(fs.readFileSync(file)), 'sqlite');

    const key = randomBytes(32);
    const r = await box.registry({ file, key, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    assert.deepEqual(modelNames(repos), ['plain-llama', 'plain-qwen']);
    assert.equal(fileKind(fs.readFileSync(file)), 'sqlite', 'opening alone writes nothing');
    repos.audit({ operation: 'op', target: 'after', outcome: 'ok' });
    await r.flush();
    assert.equal(fileKind(fs.readFileSync(file)), 'encrypted');
    await r.close();

    await assertRejectsRegistryError(Registry.open({ file }), 'key');
    const again = await box.registry({ file, key });
    assert.deepEqual(modelNames(new RegistryRepositories(again)), ['plain-llama', 'plain-qwen']);
  });

  it('backups of an encrypted registry are encrypted too and restore with the key', async () => {
    const file = box.file();
    const key = randomBytes(32);
    const r = await box.registry({ file, key });
    const repos = new RegistryRepositories(r);
    seed(repos, 'enc');
    const b = await r.backupNow();
    assert.equal(b.encrypted, true);
    assert.equal(fileKind(fs.readFileSync(b.file)), 'encrypted');
    repos.deleteModel(repos.listModels()[0].id);
    await r.restore(b.file);
    assert.deepEqual(modelNames(repos), ['enc-llama', 'enc-qwen']);
  });

  it('a key that is not 32 bytes is refused', async () => {
    await assertRejectsRegistryError(Registry.open({ file: box.file(), key: randomBytes(16) }), 'key', /32 bytes/);
  });

  it('encrypt/decode round-trip, with a fresh IV each time; tampering is detected', () => {
    const key = randomBytes(32);
    const data = Buffer.from('SQLite format 3\0 and some pages');
    const a = encrypt(data, key);
    const b = encrypt(data, key);
    assert.notDeepEqual(a, b, 'random IV');
    assert.deepEqual(Buffer.from(decode(a, key, 'f')), data);
    const tampered = Buffer.from(a);
    tampered[tampered.length - 1] ^= 1;
    assert.throws(() => decode(tampered, key, 'f'), (e: Error & { kind?: string }) => e.kind === 'key');
    assert.throws(() => decode(a.subarray(0, 20), key, 'f'), (e: Error & { kind?: string }) => e.kind === 'corrupt');
  });
});
