// The registry's write-ahead journal: each committed transaction is appended as one record (its
// statements and bound parameters), so a save writes a few hundred bytes instead of the whole
// database. The journal starts with a header naming the snapshot it follows (length and CRC-32),
// which also lets open() trust a snapshot without a full integrity check.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { SqlValue } from 'sql.js';

const MAGIC = Buffer.from('LLMSJNL1', 'latin1');
const IV = 12;
const TAG = 16;

export type JournalStatement = [sql: string, params: SqlValue[]];

export interface JournalHeader {
  readonly t: 'h';
  /** Byte length and CRC-32 of the snapshot file this journal follows. */
  readonly snapLen: number;
  readonly snapCrc: number;
}

export interface JournalTxn {
  readonly t: 'x';
  readonly seq: number;
  readonly s: JournalStatement[];
}

export type JournalRecord = JournalHeader | JournalTxn;

/** JSON cannot carry bytes; blobs travel as {"$b": base64}. */
function encodeValue(v: SqlValue): unknown {
  return v instanceof Uint8Array ? { $b: Buffer.from(v).toString('base64') } : v;
}

function decodeValue(v: unknown): SqlValue {
  if (v && typeof v === 'object' && '$b' in (v as object)) return new Uint8Array(Buffer.from(String((v as { $b: string }).$b), 'base64'));
  return v as SqlValue;
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

export interface ParsedJournal {
  readonly header?: JournalHeader;
  readonly txns: JournalTxn[];
  /** Bytes up to the end of the last whole, valid record; anything after it is a torn write. */
  readonly validLength: number;
  readonly torn: boolean;
}

/**
 * Reads records until the first torn or invalid one (a save killed mid-append). With requireEncrypted
 * (the journal of an encrypted snapshot) a plain record is invalid too: anyone can write one, only the
 * key holder an encrypted one.
 */
export function parseJournal(data: Uint8Array, key: Buffer | undefined, requireEncrypted = false): ParsedJournal {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < MAGIC.length || !b.subarray(0, MAGIC.length).equals(MAGIC)) return { txns: [], validLength: 0, torn: b.length > 0 };
  let off = MAGIC.length;
  let header: JournalHeader | undefined;
  const txns: JournalTxn[] = [];
  while (off + 8 <= b.length) {
    const len = b.readUInt32LE(off);
    const crc = b.readUInt32LE(off + 4);
    if (off + 8 + len > b.length) break;
    const raw = b.subarray(off + 8, off + 8 + len);
    if (len < 1 || crc32(raw) !== crc) break;
    let payload = raw.subarray(1);
    if (raw[0] === 1) {
      if (!key) break;
      try {
        const d = createDecipheriv('aes-256-gcm', key, payload.subarray(0, IV));
        d.setAuthTag(payload.subarray(IV, IV + TAG));
        payload = Buffer.concat([d.update(payload.subarray(IV + TAG)), d.final()]);
      } catch {
        break;
      }
    } else if (raw[0] !== 0 || requireEncrypted) {
      break;
    }
    let rec: JournalRecord;
    try {
      rec = JSON.parse(payload.toString('utf8'));
    } catch {
      break;
    }
    if (rec.t === 'h' && !header && txns.length === 0) header = rec;
    else if (rec.t === 'x' && Number.isInteger(rec.seq) && Array.isArray(rec.s)) txns.push({ t: 'x', seq: rec.seq, s: rec.s.map(([sql, p]) => [sql, (p ?? []).map(decodeValue)]) });
    else break;
    off += 8 + len;
  }
  return { header, txns, validLength: off, torn: off < b.length };
}
