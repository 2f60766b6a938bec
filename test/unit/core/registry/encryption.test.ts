// Tests the registry's AES-256-GCM encryption: nothing readable on disk (snapshot or journal), reopening with the key, wrong or missing keys leaving both files untouched, and forged journal records refused.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decode, encrypt, fileKind } from '../../../../src/core/registry/fileStore';
import { encodeRecord, parseJournal } from '../../../../src/core/registry/journal';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { assertRejectsRegistryError, journalOf, listDir, modelNames, rawRecords, sandbox, savedHashes, seed } from './support';

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** Asserts that none of the texts appears in the bytes of a saved file. */
function assertUnreadable(bytes: Buffer, texts: string[], what: string): void {
  for (const t of texts) assert.equal(bytes.indexOf(Buffer.from(t)), -1, `${JSON.stringify(t)} is readable in the ${what}`);
}

describe('registry encryption (unit)', () => {
  const box = sandbox();

  it('a registry written with a key is not plain SQLite, its journal records are encrypted, and it reopens with the key', async () => {
    const file = box.file();
    const key = randomBytes(32);
    const r = await box.registry({ file, key, persistDelayMs: 60_000 });
    assert.equal(r.encrypted, true);
    seed(new RegistryRepositories(r), 'secret');
    await r.close();

    const bytes = fs.readFileSync(file);
    assert.equal(fileKind(bytes), 'encrypted');
    assert.ok(!bytes.subarray(0, 16).equals(SQLITE_HEADER), 'no SQLite header');
    assert.equal(bytes.indexOf(SQLITE_HEADER), -1);
    assertUnreadable(bytes, ['CREATE TABLE', 'registry_meta'], 'snapshot');

    // The seeded rows are in the journal (not in the snapshot, written before them): all of it encrypted.
    const journal = fs.readFileSync(journalOf(file));
    const parsed = parseJournal(journal, key);
    assert.ok(parsed.header, 'the journal header decrypts with the key');
    assert.ok(parsed.txns.length >= 7, 'the seed transactions are journal records');
    assert.ok(JSON.stringify(parsed.txns).includes('secret-llama'), 'they hold the model names, once decrypted');
    const records = rawRecords(journal);
    assert.equal(records.length, 1 + parsed.txns.length);
    assert.equal(records[records.length - 1].offset + records[records.length - 1].length, journal.length, 'nothing but records');
    for (const rec of records) assert.equal(rec.payload[0], 1, 'every record, the header included, is encrypted');
    assertUnreadable(journal, ['secret-llama', 'secret-qwen', 'note for secret', 'INSERT INTO', 'audit_log', 'journal_seq', '"seq"'], 'journal');
    assert.equal(parseJournal(journal, undefined).txns.length, 0, 'without the key no record reads');

    const again = await box.registry({ file, key: Buffer.from(key) });
    assert.equal(again.recovery, undefined);
    assert.deepEqual(modelNames(new RegistryRepositories(again)), ['secret-llama', 'secret-qwen']);
  });

  for (const [what, key] of [
    ['a wrong key', randomBytes(32)],
    ['no key', undefined],
  ] as const) {
    it(`${what}: throws kind 'key' and leaves the file and its journal byte-identical where they are`, async () => {
      const dir = box.dir();
      const file = path.join(dir, 'registry.sqlite');
      const right = randomBytes(32);
      const r = await Registry.open({ file, key: right });
      seed(new RegistryRepositories(r));
      await r.backupNow();
      await r.close();
      assert.ok(parseJournal(fs.readFileSync(journalOf(file)), right).txns.length > 0, 'there are journal records to lose');
      const hashes = savedHashes(file);
      const names = listDir(dir);

      await assertRejectsRegistryError(Registry.open({ file, key }), 'key', key ? /could not be decrypted/ : /is encrypted, but no key/);
      assert.deepEqual(savedHashes(file), hashes);
      assert.deepEqual(listDir(dir), names, 'nothing moved aside, nothing restored, nothing written');

      // The right key still opens it, with the journaled rows.
      const ok = await box.registry({ file, key: right });
      assert.equal(ok.recovery, undefined);
      assert.equal(modelNames(new RegistryRepositories(ok)).length, 2);
    });
  }

  it('a plain registry opened with a key is encrypted at once (a new snapshot and journal), its plain journal replayed first', async () => {
    const file = box.file();
    const plain = await Registry.open({ file, persistDelayMs: 60_000 });
    seed(new RegistryRepositories(plain), 'plain');
    await plain.close();
    assert.equal(fileKind(fs.readFileSync(file)), 'sqlite');
    assert.ok(fs.readFileSync(journalOf(file)).includes(Buffer.from('plain-llama')), 'the plain journal holds the seeded rows in clear');

    const key = randomBytes(32);
    const r = await box.registry({ file, key, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    assert.deepEqual(modelNames(repos), ['plain-llama', 'plain-qwen'], 'the plain journal was replayed');
    // Opening with a key compacts: the snapshot and the journal are rewritten encrypted, nothing plain remains.
    const snapshot = fs.readFileSync(file);
    assert.equal(fileKind(snapshot), 'encrypted');
    let journal = fs.readFileSync(journalOf(file));
    assert.deepEqual(
      rawRecords(journal).map((x) => x.payload[0]),
      [1],
      'a new journal: only its header, encrypted',
    );
    assertUnreadable(snapshot, ['plain-llama', 'CREATE TABLE'], 'snapshot');
    assertUnreadable(journal, ['plain-llama'], 'journal');

    repos.audit({ operation: 'op', target: 'after-encryption', outcome: 'ok' });
    await r.flush();
    journal = fs.readFileSync(journalOf(file));
    assert.deepEqual(
      rawRecords(journal).map((x) => x.payload[0]),
      [1, 1],
    );
    assertUnreadable(journal, ['after-encryption', 'plain-llama'], 'journal');
    assert.deepEqual(fs.readFileSync(file), snapshot, 'the commit went to the journal');
    await r.close();

    await assertRejectsRegistryError(Registry.open({ file }), 'key');
    const again = await box.registry({ file, key });
    const againRepos = new RegistryRepositories(again);
    assert.deepEqual(modelNames(againRepos), ['plain-llama', 'plain-qwen']);
    assert.equal(againRepos.recentAudit(1)[0].target, 'after-encryption');
  });

  it('a plain record forged into an encrypted journal is not applied, and is cut off', async () => {
    const file = box.file();
    const key = randomBytes(32);
    const r = await Registry.open({ file, key, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    seed(repos, 'real');
    await r.close();
    const journal = fs.readFileSync(journalOf(file));
    const { txns } = parseJournal(journal, key);
    const next = txns[txns.length - 1].seq + 1;
    // Anyone who can write the file can append a well-formed plain record (a CRC is no MAC).
    const forged = encodeRecord(
      {
        t: 'x',
        seq: next,
        s: [
          ['DELETE FROM models', []],
          ["UPDATE registry_meta SET value = ? WHERE key = 'journal_seq'", [next]],
        ],
      },
      undefined,
    );
    fs.writeFileSync(journalOf(file), Buffer.concat([journal, forged]));

    const again = await box.registry({ file, key });
    assert.equal(again.recovery, undefined);
    assert.deepEqual(modelNames(new RegistryRepositories(again)), ['real-llama', 'real-qwen'], 'the forged DELETE did not run');
    assert.deepEqual(fs.readFileSync(journalOf(file)), journal, 'the forged record was cut off');
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
