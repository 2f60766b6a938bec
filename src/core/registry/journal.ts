// The registry's write-ahead journal: each committed transaction is appended as one record (its
// statements and bound parameters), so a save writes a few hundred bytes instead of the whole
// database. The journal starts with a header naming the snapshot it follows (length and CRC-32),
// which also lets open() trust a snapshot without a full integrity check.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { SqlValue } from 'sql.js';
import { z } from 'zod';

const MAGIC = Buffer.from('LLMSJNL1', 'latin1');
const IV = 12;
const TAG = 16;

export type JournalStatement = [sql: string, params: SqlValue[]];

interface JournalHeader {
  readonly t: 'h';
  /** Byte length and CRC-32 of the snapshot file this journal follows. */
  readonly snapLen: number;
  readonly snapCrc: number;
}

interface JournalTxn {
  readonly t: 'x';
  readonly seq: number;
  readonly s: JournalStatement[];
}

type JournalRecord = JournalHeader | JournalTxn;

/** JSON cannot carry bytes; blobs travel as {"$b": base64}. */
function encodeValue(v: SqlValue): unknown {
  return v instanceof Uint8Array ? { $b: Buffer.from(v).toString('base64') } : v;
}

// A record read back is checked like any input from disk: a checksum says the bytes are the ones
// written, not that they came from this code (another version, a bug, a hand edit).
const valueSchema = z.union([z.number(), z.string(), z.null(), z.strictObject({ $b: z.base64() })]);
const recordSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('h'), snapLen: z.number().int().nonnegative(), snapCrc: z.number().int().nonnegative() }),
  z.strictObject({ t: z.literal('x'), seq: z.number().int().nonnegative(), s: z.array(z.tuple([z.string(), z.array(valueSchema).nullish()])) }),
]);

function decodeValue(v: z.infer<typeof valueSchema>): SqlValue {
  return v !== null && typeof v === 'object' ? new Uint8Array(Buffer.from(v.$b, 'base64')) : v;
}

export function encodeRecord(record: JournalRecord, key: Buffer | undefined): Buffer {
  const json = record.t === 'x' ? { ...record, s: record.s.map(([sql, p]) => [sql, p.map(encodeValue)]) } : record;
  // First payload byte: 0 plain JSON, 1 AES-256-GCM (iv, tag, ciphertext). Per record, so a journal
  // started before encryption was turned on still reads.
  let payload = Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify(json), 'utf8')]);
  if (key) {
    const iv = randomBytes(IV);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([c.update(payload.subarray(1)), c.final()]);
    payload = Buffer.concat([Buffer.from([1]), iv, c.getAuthTag(), body]);
  }
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

export function journalStart(header: JournalHeader, key: Buffer | undefined): Buffer {
  return Buffer.concat([MAGIC, encodeRecord(header, key)]);
}

export function snapshotHeader(snapshot: Uint8Array): JournalHeader {
  return { t: 'h', snapLen: snapshot.length, snapCrc: crc32(snapshot) };
}

interface ParsedJournal {
  readonly header?: JournalHeader;
  readonly txns: JournalTxn[];
  /** Bytes up to the end of the last whole, valid record; anything after it is cut off on open. */
  readonly validLength: number;
  readonly torn: boolean;
  /**
   * Why reading stopped at a whole record (a checksum that does not match, a record that cannot be
   * decrypted or has the wrong shape): damage rather than a save killed mid-append, so what follows
   * is worth keeping. Undefined when the journal is valid to its end or only its last record is cut short.
   */
  readonly invalid?: string;
}

/**
 * Reads records until the first torn or invalid one (a save killed mid-append, or damage). With
 * requireEncrypted (the journal of an encrypted snapshot) a plain record is invalid too: anyone can
 * write one, only the key holder an encrypted one. Never throws: whatever the bytes, the valid prefix.
 */
export function parseJournal(data: Uint8Array, key: Buffer | undefined, requireEncrypted = false): ParsedJournal {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < MAGIC.length || !b.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { txns: [], validLength: 0, torn: b.length > 0, invalid: b.length >= MAGIC.length ? 'it does not start with the journal magic' : undefined };
  }
  let off = MAGIC.length;
  let header: JournalHeader | undefined;
  const txns: JournalTxn[] = [];
  let invalid: string | undefined;
  const stop = (why: string) => {
    // Zeros after the last record are what a crash leaves in a file extended but not yet written.
    if (!b.subarray(off).every((x) => x === 0)) invalid = `${why} at byte ${off}`;
  };
  while (off + 8 <= b.length) {
    const len = b.readUInt32LE(off);
    const crc = b.readUInt32LE(off + 4);
    if (off + 8 + len > b.length) break;
    const raw = b.subarray(off + 8, off + 8 + len);
    if (len < 1 || crc32(raw) !== crc) {
      stop(len < 1 ? 'an empty record' : 'a record whose checksum does not match');
      break;
    }
    let payload = raw.subarray(1);
    if (raw[0] === 1) {
      if (!key) {
        stop('an encrypted record and no key');
        break;
      }
      try {
        const d = createDecipheriv('aes-256-gcm', key, payload.subarray(0, IV));
        d.setAuthTag(payload.subarray(IV, IV + TAG));
        payload = Buffer.concat([d.update(payload.subarray(IV + TAG)), d.final()]);
      } catch {
        stop('a record that does not decrypt with this key');
        break;
      }
    } else if (raw[0] !== 0 || requireEncrypted) {
      stop(raw[0] === 0 ? 'a plain record in the journal of an encrypted registry' : `a record of unknown format ${raw[0]}`);
      break;
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      stop('a record that is not JSON');
      break;
    }
    const rec = recordSchema.safeParse(json);
    if (!rec.success) {
      const issue = rec.error.issues[0];
      stop(`a record of the wrong shape (${issue?.path.join('.') || 'record'}: ${issue?.message})`);
      break;
    }
    if (rec.data.t === 'h') {
      if (header || txns.length) {
        stop('a second header');
        break;
      }
      header = rec.data;
    } else txns.push({ t: 'x', seq: rec.data.seq, s: rec.data.s.map(([sql, p]) => [sql, (p ?? []).map(decodeValue)]) });
    off += 8 + len;
  }
  return { header, txns, validLength: off, torn: off < b.length, invalid };
}
