// A webhook receiver on 127.0.0.1 for the tests: records every request (headers, raw body, when)
// and answers from a script of statuses (204 when the script is empty); `hang` leaves requests
// unanswered. `received(n)` resolves when n requests have arrived (an event, not a poll).
import { EventEmitter, once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export class WebhookReceiver {
  readonly got: Received[] = [];
  /** Statuses to answer with, in order; then 204. */
  script: number[] = [];
  /** Leave requests unanswered (a hung receiver). */
  hang = false;
  private readonly events = new EventEmitter();
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(private readonly server: http.Server) {}

  static async start(port = 0): Promise<WebhookReceiver> {
    const server = http.createServer();
    const r = new WebhookReceiver(server);
    server.on('connection', (s) => (r.sockets.add(s), s.on('close', () => r.sockets.delete(s))));
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        r.got.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() });
        r.events.emit('got');
        if (r.hang) return;
        const status = r.script.shift() ?? 204;
        res.writeHead(status, status >= 300 && status < 400 ? { location: '/elsewhere' } : {});
        res.end(status === 204 ? undefined : `status ${status}`);
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hook', host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  /** Resolves with the requests once `n` have arrived in all; rejects after `timeoutMs`. */
  received(n: number, timeoutMs = 30_000): Promise<Received[]> {
    return new Promise((resolve, reject) => {
      const cleanup = () => (clearTimeout(timer), this.events.off('got', check));
      const check = () => {
        if (this.got.length < n) return;
        cleanup();
        resolve(this.got.slice(0, n));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`the receiver got ${this.got.length} of ${n} deliveries within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('got', check);
      check();
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
