// Ports on 127.0.0.1 for tests and benchmarks.
import * as net from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1 (bound and closed again at once): for a server
 * that binds it next, or as a port where nothing listens (connections are refused).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
