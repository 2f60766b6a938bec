// API tokens for the TCP listener: 256 random bits, shown once, kept only as a SHA-256 hash (with a
// name, a role, an optional expiry and an optional list of allowed models) in tokens.json (0600) in
// the service's data folder. A presented token is hashed and looked up; the stored hash never
// leaves the service, and no answer carries it.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { defineUseCase, InvalidInput } from '../app/useCase';
import { ROLES, type Role } from './permissions';
import type { Limits } from './rateLimits';

const PREFIX = 'llmstack_';

const entrySchema = z.object({
  name: z.string(),
  role: z.enum(ROLES),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.number(),
  expiresAt: z.number().optional(),
  revokedAt: z.number().optional(),
  models: z.array(z.string()).optional(),
  requestsPerMinute: z.number().positive().optional(),
  tokensPerMinute: z.number().positive().optional(),
});
type Entry = z.infer<typeof entrySchema>;
const fileSchema = z.object({ tokens: z.array(entrySchema) });

type TokenCheck = { ok: true; name: string; role: Role; models?: string[]; limits?: Limits } | { ok: false; reason: 'missing' | 'unknown' | 'expired' | 'revoked' };

function hashOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenStore {
  private readonly file: string;
  private cache: { mtimeMs: number; size: number; entries: Entry[] } | undefined;

  constructor(
    dataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.file = path.join(dataDir, 'tokens.json');
  }

  private read(): Entry[] {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(this.file);
    } catch {
      return [];
    }
    if (!st.isFile()) throw new Error(`${this.file} is not a regular file; tokens are not read through links.`);
    if (this.cache && this.cache.mtimeMs === st.mtimeMs && this.cache.size === st.size) return this.cache.entries;
    if (st.size > 4 * 1024 * 1024) throw new Error(`${this.file} is over 4 MiB; fix or remove it.`);
    const parsed = fileSchema.safeParse(JSON.parse(fs.readFileSync(this.file, 'utf8')));
    if (!parsed.success) throw new Error(`${this.file} is not a list of tokens; fix or remove it (every token in it stops working until then).`);
    this.cache = { mtimeMs: st.mtimeMs, size: st.size, entries: parsed.data.tokens };
    return parsed.data.tokens;
  }

  private write(entries: Entry[]): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify({ tokens: entries }, null, 2), { mode: 0o600 });
    fs.renameSync(temp, this.file);
    this.cache = undefined;
  }

  /** Makes a token; the returned secret is not kept anywhere. */
  create(name: string, role: Role, options: { expiresInDays?: number; models?: string[] } & Limits = {}): { token: string; name: string; role: Role; expiresAt?: number } {
    const entries = this.read();
    if (entries.some((e) => e.name === name && e.revokedAt === undefined)) throw new InvalidInput('tokens.create', [`a token named "${name}" exists; revoke it first or pick another name`]);
    const token = PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = options.expiresInDays ? this.now() + options.expiresInDays * 86_400_000 : undefined;
    this.write([...entries, { name, role, hash: hashOf(token), createdAt: this.now(), expiresAt, models: options.models?.length ? options.models : undefined, requestsPerMinute: options.requestsPerMinute, tokensPerMinute: options.tokensPerMinute }]);
    return { token, name, role, expiresAt };
  }

  list(): Omit<Entry, 'hash'>[] {
    return this.read().map(({ hash: _hash, ...rest }) => rest);
  }

  revoke(name: string): boolean {
    const entries = this.read();
    const live = entries.find((e) => e.name === name && e.revokedAt === undefined);
    if (!live) return false;
    live.revokedAt = this.now();
    this.write(entries);
    return true;
  }

  /** What a presented token is worth; never throws for a bad token. */
  check(token: string | undefined): TokenCheck {
    if (!token) return { ok: false, reason: 'missing' };
    const hash = hashOf(token);
    const entry = this.read().find((e) => e.hash === hash);
    if (!entry) return { ok: false, reason: 'unknown' };
    if (entry.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    const limits = entry.requestsPerMinute || entry.tokensPerMinute ? { requestsPerMinute: entry.requestsPerMinute, tokensPerMinute: entry.tokensPerMinute } : undefined;
    return { ok: true, name: entry.name, role: entry.role, models: entry.models, limits };
  }
}

const nameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name of letters, digits, dots, dashes and underscores (at most 64)');
const listedSchema = z.object({
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: z.number(),
  expiresAt: z.number().optional(),
  revokedAt: z.number().optional(),
  models: z.array(z.string()).optional(),
  requestsPerMinute: z.number().optional(),
  tokensPerMinute: z.number().optional(),
});

interface TokenDeps {
  readonly tokens: TokenStore;
}

const create = defineUseCase({
  name: 'tokens.create',
  summary: 'Makes an API token for the TCP listener, with a role (viewer, operator, admin), an optional expiry, allowed models and rate limits (requests and model tokens a minute). The token is answered once and kept only as a hash.',
  input: z.object({
    name: nameSchema,
    role: z.enum(ROLES),
    expiresInDays: z.number().positive().max(3650).optional(),
    models: z.array(z.string().min(1).max(500)).max(1000).optional(),
    requestsPerMinute: z.number().int().positive().max(1_000_000).optional(),
    tokensPerMinute: z.number().int().positive().max(1_000_000_000).optional(),
  }),
  output: z.object({ token: z.string(), name: z.string(), role: z.enum(ROLES), expiresAt: z.number().optional() }),
  run: (deps: TokenDeps, input) => Promise.resolve(deps.tokens.create(input.name, input.role, { expiresInDays: input.expiresInDays, models: input.models, requestsPerMinute: input.requestsPerMinute, tokensPerMinute: input.tokensPerMinute })),
});

const list = defineUseCase({
  name: 'tokens.list',
  summary: 'Lists the API tokens: name, role, dates and allowed models (never the token).',
  input: z.object({}),
  output: z.object({ tokens: z.array(listedSchema) }),
  run: (deps: TokenDeps) => Promise.resolve({ tokens: deps.tokens.list() }),
});

const revoke = defineUseCase({
  name: 'tokens.revoke',
  summary: 'Revokes an API token by name: it is refused from the next request on.',
  input: z.object({ name: nameSchema }),
  output: z.object({ revoked: z.boolean() }),
  run: (deps: TokenDeps, input) => Promise.resolve({ revoked: deps.tokens.revoke(input.name) }),
});

export const tokenUseCases = [create, list, revoke] as const;
