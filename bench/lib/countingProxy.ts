// A unix-socket proxy in front of the Docker Engine socket that counts the HTTP requests clients send.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const requestLine = /^(GET|POST|DELETE|PUT|HEAD) \S+ HTTP\/1\.[01]$/;

export interface CountingProxy {
  /** Point clients here (unix socket). */
  readonly socketPath: string;
  /** Requests seen since the last reset. */
  readonly count: number;
  /** Their request lines ("GET /v1.41/containers/json?… HTTP/1.1"), in order. */
  readonly requests: readonly string[];
  /** Client connections opened since the start. */
  readonly connections: number;
  /** Forgets what was counted so far and returns those request lines. */
  reset(): string[];
  close(): Promise<void>;
}

export async function startCountingProxy(targetSocket: string): Promise<CountingProxy> {
  const socketPath = path.join(os.tmpdir(), `llmstack-bench-proxy-${process.pid}-${Date.now().toString(36)}.sock`);
  fs.rmSync(socketPath, { force: true });
  let requests: string[] = [];
  let connections = 0;
  const open = new Set<net.Socket>();

  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(targetSocket);
    open.add(client);
    open.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      open.delete(client);
      upstream.end();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      client.end();
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    // Request lines may be split across chunks: keep the unfinished last line (bounded, so a large body cannot grow it).
    let carry = '';
    client.on('data', (chunk: Buffer) => {
      const lines = (carry + chunk.toString('latin1')).split('\n');
      carry = lines.pop()!.slice(-8192);
      for (const raw of lines) {
        const line = raw.replace(/\r$/, '');
        if (requestLine.test(line)) requests.push(line);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    socketPath,
    get count() {
      return requests.length;
    },
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    reset() {
      const before = requests;
      requests = [];
      return before;
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => {
          fs.rmSync(socketPath, { force: true });
          resolve();
        });
      });
    },
  };
}
