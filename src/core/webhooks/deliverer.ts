// Sends the queued webhook deliveries: each one a signed POST (signature.ts) with a 10 s bound, a
// 2xx answer is delivered, anything else is tried again after a growing wait (base × 3^n, at most an
// hour) until the attempts run out. Driven by a timer set for the next due delivery and woken when
// one is queued: no polling. Targets are loopback unless the subscription allows one other host,
// checked when the request is made (a name that resolves elsewhere is refused too), and redirects
// are not followed.
import * as dns from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { Disposable, errorMessage, type Logger, silentLogger } from '../lifecycle';
import { signatureHeaders } from './signature';
import type { DueDelivery, WebhookStore } from './store';

export interface DelivererOptions {
  readonly store: () => Promise<WebhookStore>;
  /** The subscription's signing secret. */
  readonly secret: (webhook: string) => Promise<string | undefined>;
  /** Makes the attempt's record durable (the registry's flush). */
  readonly persist?: () => Promise<void>;
  /** First retry after this long; each next one waits three times longer, at most an hour. */
  readonly retryBaseMs?: number;
  readonly maxAttempts?: number;
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  readonly log?: Logger;
  /** Told of each attempt's outcome (the service's metrics count them). */
  readonly onAttempt?: (outcome: 'delivered' | 'retry' | 'failed', d: DueDelivery) => void;
}

const MAX_WAIT_MS = 3_600_000;
const MAX_ANSWER = 64 * 1024;

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/** Why a URL may not be a webhook target, or undefined when it may. */
export function targetProblem(url: string, allowHost: string | null | undefined): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url.slice(0, 200)}" is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${u.protocol} is not http: or https:`;
  if (u.username || u.password) return 'the URL carries a user name or password; leave them out (the signature authenticates each delivery)';
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(host) || (allowHost && host === allowHost.toLowerCase())) return undefined;
  return `${host} is not loopback; a webhook to another host needs that host allowed when it is created (--allow-host ${host})`;
}

/** Resolves as usual, but refuses an address that is not loopback (a name pointing elsewhere). */
function loopbackLookup(hostname: string, options: dns.LookupOptions, cb: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, '');
    const ok = addresses.filter((a) => isLoopback(a.address));
    if (!ok.length) return cb(Object.assign(new Error(`${hostname} resolves to ${addresses.map((a) => a.address).join(', ')}, not loopback`), { code: 'ENOTLOOPBACK' }), '');
    if (options.all) cb(null, ok);
    else cb(null, ok[0].address, ok[0].family);
  });
}

export class WebhookDeliverer extends Disposable {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly inFlight = new Set<http.ClientRequest>();

  constructor(private readonly o: DelivererOptions) {
    super();
    this.register({ dispose: () => (clearTimeout(this.timer), this.inFlight.forEach((r) => r.destroy())) });
  }

  private get log(): Logger {
    return this.o.log ?? silentLogger;
  }

  /** Something was queued (or the service started): send what is due, then sleep until the next. */
  wake(): void {
    if (this.isDisposed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.runOnce()
      .catch((e: unknown) => this.log.warn(`Webhook deliveries: ${errorMessage(e)}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves when the current round of sending has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async runOnce(): Promise<void> {
    const store = await this.o.store();
    for (let round = 0; round < 50 && !this.isDisposed; round++) {
      const due = store.due(20);
      if (!due.length) break;
      await Promise.all(due.map((d) => this.attempt(store, d)));
      await this.o.persist?.();
    }
    if (this.isDisposed) return;
    const next = store.nextDue();
    if (next !== undefined) {
      this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(next - Date.now(), MAX_WAIT_MS)));
      this.timer.unref?.();
    }
  }

  private async attempt(store: WebhookStore, d: DueDelivery): Promise<void> {
    const started = performance.now();
    const problem = targetProblem(d.url, d.allowHost);
    const secret = problem ? undefined : await this.o.secret(d.webhook);
    const answer = problem ? { error: `not sent: ${problem}` } : !secret ? { error: `not sent: the secret of webhook "${d.webhook}" is missing from the service's key store; create the webhook again` } : await this.send(d, secret);
    if (this.isDisposed) return;
    const attempts = d.attempts + 1;
    const ok = answer.status !== undefined && answer.status >= 200 && answer.status < 300;
    // A target that is not allowed stays not allowed: no retry.
    const retry = !ok && !problem && attempts < (this.o.maxAttempts ?? 10);
    const base = this.o.retryBaseMs ?? 10_000;
    const retryAt = retry ? Date.now() + Math.min(base * 3 ** (attempts - 1), MAX_WAIT_MS) : undefined;
    const state = store.recordAttempt(d.id, { ...answer, durationMs: performance.now() - started, retryAt });
    const outcome = state === 'delivered' ? 'delivered' : state === 'pending' ? 'retry' : 'failed';
    this.o.onAttempt?.(outcome, d);
    if (outcome === 'failed') this.log.warn(`Webhook ${d.webhook}: delivery ${d.id} (${d.event}) failed after ${attempts} attempts: ${answer.error ?? `HTTP ${answer.status}`}.`);
  }

  private send(d: DueDelivery, secret: string): Promise<{ status?: number; error?: string }> {
    const url = new URL(d.url);
    const secure = url.protocol === 'https:';
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(d.body),
      'user-agent': this.o.userAgent ?? 'llmstack-webhooks',
      'x-llmstack-event': d.event,
      'x-llmstack-delivery': String(d.id),
      ...signatureHeaders(secret, d.body, Date.now() / 1000),
    };
    const lookup = d.allowHost && url.hostname.toLowerCase() === d.allowHost.toLowerCase() ? undefined : loopbackLookup;
    return new Promise((resolve) => {
      const timeoutMs = this.o.timeoutMs ?? 10_000;
      let status: number | undefined;
      const answered = () => resolve(status !== undefined && status >= 300 && status < 400 ? { status, error: `HTTP ${status}: redirects are not followed` } : { status });
      const req = (secure ? https : http).request(url, { method: 'POST', headers, lookup, agent: false }, (res) => {
        status = res.statusCode ?? 0;
        let read = 0;
        // The answer's body is read and dropped (at most 64 KiB of it).
        res.on('data', (c: Buffer) => {
          read += c.length;
          if (read > MAX_ANSWER) res.destroy();
        });
        res.on('end', answered);
        res.on('close', answered);
      });
      this.inFlight.add(req);
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (e) => resolve({ error: errorMessage(e) }));
      req.on('close', () => {
        clearTimeout(timer);
        this.inFlight.delete(req);
        if (status !== undefined) answered();
        else resolve({ error: 'the connection closed before an answer' });
      });
      req.end(d.body);
    });
  }
}
