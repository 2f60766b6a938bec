// Webhook subscriptions and their delivery queue, in the registry: a delivery is a row written in
// the same journaled transaction that queues it, so a service killed or restarted loses none. A
// delivery is 'pending' until it is answered with a 2xx ('delivered') or its attempts run out
// ('failed'); each attempt's status or error and duration stays on the row (the delivery log).
// Secrets are not here: the service keeps them in its key store, so no export carries them.
import { z } from 'zod';
import type { Registry } from '../registry/registry';

export const WEBHOOK_EVENTS = [
  'container.unhealthy',
  'container.exited',
  'container.restart-loop',
  'runtime.unreachable',
  'alert.cleared',
  'model.pulled',
  'model.deleted',
  'model.updated',
  'stack.applied',
  'stack.down',
  'benchmark.finished',
  'ping',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

interface Webhook {
  readonly id: number;
  readonly name: string;
  readonly url: string;
  /** The events wanted; ['*'] is every event. */
  readonly events: readonly string[];
  /** The one host other than loopback this subscription may deliver to. */
  readonly allowHost: string | null;
  readonly createdAt: number;
}

/** A delivery as the log shows it (the use cases answer with this schema). */
export const deliverySchema = z.object({
  id: z.number(),
  webhook: z.string(),
  event: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  nextAt: z.number().nullable(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  durationMs: z.number().nullable(),
  createdAt: z.number(),
  doneAt: z.number().nullable(),
});
type Delivery = z.infer<typeof deliverySchema>;

/** A delivery to send now: its row and where it goes. */
export interface DueDelivery {
  readonly id: number;
  readonly webhookId: number;
  readonly webhook: string;
  readonly url: string;
  readonly allowHost: string | null;
  readonly event: string;
  readonly body: string;
  readonly attempts: number;
}

const hookRow = z.object({ id: z.number(), name: z.string(), url: z.string(), events: z.string(), allow_host: z.string().nullable(), created_at: z.number() });
const deliveryRow = z.object({
  id: z.number(),
  webhook: z.string(),
  event: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  next_at: z.number().nullable(),
  last_status: z.number().nullable(),
  last_error: z.string().nullable(),
  duration_ms: z.number().nullable(),
  created_at: z.number(),
  done_at: z.number().nullable(),
});

function toHook(r: unknown): Webhook {
  const h = hookRow.parse(r);
  const events = z.array(z.string()).catch([]).parse(safeJson(h.events));
  return { id: h.id, name: h.name, url: h.url, events, allowHost: h.allow_host, createdAt: h.created_at };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toDelivery(r: unknown): Delivery {
  const d = deliveryRow.parse(r);
  return { id: d.id, webhook: d.webhook, event: d.event, state: d.state, attempts: d.attempts, nextAt: d.next_at, lastStatus: d.last_status, lastError: d.last_error, durationMs: d.duration_ms, createdAt: d.created_at, doneAt: d.done_at };
}

const DELIVERY_COLUMNS = 'd.id, w.name AS webhook, d.event, d.state, d.attempts, d.next_at, d.last_status, d.last_error, d.duration_ms, d.created_at, d.done_at';

export class WebhookStore {
  constructor(
    readonly db: Registry,
    private readonly now: () => number = Date.now,
  ) {}

  create(input: { name: string; url: string; events: readonly string[]; allowHost?: string }): Webhook {
    return this.db.transaction(() => {
      if (this.byName(input.name)) throw new Error(`A webhook named "${input.name}" exists; remove it first or pick another name.`);
      this.db.run('INSERT INTO webhooks (name, url, events, allow_host, created_at) VALUES (?, ?, ?, ?, ?)', [input.name, input.url, JSON.stringify(input.events), input.allowHost ?? null, this.now()]);
      return this.byName(input.name)!;
    });
  }

  byName(name: string): Webhook | undefined {
    const r = this.db.get('SELECT id, name, url, events, allow_host, created_at FROM webhooks WHERE name = ?', [name]);
    return r ? toHook(r) : undefined;
  }

  list(): (Webhook & { pending: number; failed: number; lastDelivery: Delivery | null })[] {
    return this.db.all('SELECT id, name, url, events, allow_host, created_at FROM webhooks ORDER BY name').map((r) => {
      const h = toHook(r);
      const count = (state: string) => Number(this.db.get<{ n: number }>('SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ? AND state = ?', [h.id, state])?.n ?? 0);
      const last = this.db.get(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = ? ORDER BY d.id DESC LIMIT 1`, [h.id]);
      return { ...h, pending: count('pending'), failed: count('failed'), lastDelivery: last ? toDelivery(last) : null };
    });
  }

  /** Removes a subscription and its deliveries, queued ones included. */
  remove(name: string): boolean {
    return this.db.run('DELETE FROM webhooks WHERE name = ?', [name]) > 0;
  }

  /** Queues `event` for every subscription that wants it (or only `onlyWebhook`); returns the delivery ids. */
  enqueue(event: string, data: unknown, onlyWebhook?: string): number[] {
    const at = this.now();
    const hooks = this.db.all('SELECT id, name, url, events, allow_host, created_at FROM webhooks ORDER BY id').map(toHook);
    const wanted = hooks.filter((h) => (onlyWebhook !== undefined ? h.name === onlyWebhook : h.events.includes('*') || h.events.includes(event)));
    if (!wanted.length) return [];
    const body = JSON.stringify({ event, at: new Date(at).toISOString(), data });
    return this.db.transaction(() =>
      wanted.map((h) => {
        this.db.run("INSERT INTO webhook_deliveries (webhook_id, event, body, state, attempts, next_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)", [h.id, event, body, at, at]);
        return Number(this.db.get<{ id: number }>('SELECT last_insert_rowid() AS id')!.id);
      }),
    );
  }

  /** Pending deliveries whose time has come, oldest first. */
  due(limit = 20, now = this.now()): DueDelivery[] {
    return this.db
      .all<{ id: number; webhook_id: number; name: string; url: string; allow_host: string | null; event: string; body: string; attempts: number }>(
        "SELECT d.id, d.webhook_id, w.name, w.url, w.allow_host, d.event, d.body, d.attempts FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?",
        [now, limit],
      )
      .map((r) => ({ id: r.id, webhookId: r.webhook_id, webhook: r.name, url: r.url, allowHost: r.allow_host, event: r.event, body: r.body, attempts: r.attempts }));
  }

  /** When the next pending delivery is due, if any is. */
  nextDue(): number | undefined {
    const r = this.db.get<{ t: number | null }>("SELECT min(next_at) AS t FROM webhook_deliveries WHERE state = 'pending'");
    return r?.t ?? undefined;
  }

  /**
   * Records one attempt: delivered on a 2xx; otherwise tried again at `retryAt`, or failed for good
   * when there is none.
   */
  recordAttempt(id: number, a: { status?: number; error?: string; durationMs: number; retryAt?: number }): Delivery['state'] {
    const ok = a.status !== undefined && a.status >= 200 && a.status < 300;
    const state = ok ? 'delivered' : a.retryAt !== undefined ? 'pending' : 'failed';
    const now = this.now();
    this.db.run('UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_at = ?, last_status = ?, last_error = ?, duration_ms = ?, done_at = ? WHERE id = ?', [
      state,
      state === 'pending' ? (a.retryAt ?? now) : null,
      a.status ?? null,
      ok ? null : (a.error ?? `HTTP ${a.status}`).slice(0, 500),
      Math.round(a.durationMs),
      state === 'pending' ? null : now,
      id,
    ]);
    return state;
  }

  /** The delivery log, newest first. */
  deliveries(query: { webhook?: string; state?: Delivery['state']; limit?: number } = {}): Delivery[] {
    // d.id > 0 holds for every row; it lets the newest-first read walk the rowid from the end.
    const where: string[] = ['d.id > 0'];
    const params: (string | number)[] = [];
    if (query.webhook !== undefined) (where.push('w.name = ?'), params.push(query.webhook));
    if (query.state !== undefined) (where.push('d.state = ?'), params.push(query.state));
    params.push(Math.max(1, Math.min(query.limit ?? 50, 1000)));
    return this.db.all(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE ${where.join(' AND ')} ORDER BY d.id DESC LIMIT ?`, params).map(toDelivery);
  }

  /** Queues a delivery again with the same event and body (a new row: the old one's log stays). */
  redeliver(id: number): number | undefined {
    return this.db.transaction(() => {
      const old = this.db.get<{ webhook_id: number; event: string; body: string }>('SELECT webhook_id, event, body FROM webhook_deliveries WHERE id = ?', [id]);
      if (!old) return undefined;
      const at = this.now();
      this.db.run("INSERT INTO webhook_deliveries (webhook_id, event, body, state, attempts, next_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)", [old.webhook_id, old.event, old.body, at, at]);
      return Number(this.db.get<{ id: number }>('SELECT last_insert_rowid() AS id')!.id);
    });
  }

  /** The body a delivery sends (what the receiver's signature covers). */
  body(id: number): string | undefined {
    return this.db.get<{ body: string }>('SELECT body FROM webhook_deliveries WHERE id = ?', [id])?.body;
  }
}
