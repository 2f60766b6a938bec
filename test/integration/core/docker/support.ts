// Builds the core objects the extension wires together, pointed at a real engine socket.
import { EngineConnection } from '../../../../src/core/docker/connection';
import { ContainerCache } from '../../../../src/core/docker/containerCache';
import { EndpointResolution, parseHost } from '../../../../src/core/docker/endpoint';
import { DEFAULT_SOCKET } from '../../../support/engine';

export function resolutionFor(url: string): EndpointResolution {
  const parsed = parseHost(url);
  return { candidates: [{ url, source: 'setting', origin: 'test', tls: false, ...parsed }], problems: [] };
}

export function connect(url = `unix://${DEFAULT_SOCKET}`, opts: { initialBackoffMs?: number; maxBackoffMs?: number; requestTimeoutMs?: number } = {}) {
  const connection = new EngineConnection({ resolve: () => resolutionFor(url), initialBackoffMs: opts.initialBackoffMs ?? 200, maxBackoffMs: opts.maxBackoffMs ?? 1000, requestTimeoutMs: opts.requestTimeoutMs });
  const cache = new ContainerCache(connection);
  return {
    connection,
    cache,
    dispose() {
      cache.dispose();
      connection.dispose();
    },
  };
}
