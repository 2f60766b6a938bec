// The engine fixture of the integration tests: the core objects the extension wires together
// (EngineConnection, ContainerCache) pointed at a real engine socket, and the before/after hooks
// that connect them, wait for the container list, and clean up a suite's own test containers.
import * as assert from 'node:assert/strict';
import { EngineConnection } from '../../src/core/docker/connection';
import { ContainerCache } from '../../src/core/docker/containerCache';
import { type EndpointResolution, parseHost } from '../../src/core/docker/endpoint';
import { DEFAULT_SOCKET, TestContainers } from './engine';

export function resolutionFor(url: string): EndpointResolution {
  const parsed = parseHost(url);
  return { candidates: [{ url, source: 'setting', origin: 'test', tls: false, ...parsed }], problems: [] };
}

export interface EngineEnv {
  readonly connection: EngineConnection;
  readonly cache: ContainerCache;
  dispose(): void;
}

/** A connection and its container cache on url, not connected yet. */
export function connect(url = `unix://${DEFAULT_SOCKET}`, opts: { initialBackoffMs?: number; maxBackoffMs?: number; requestTimeoutMs?: number } = {}): EngineEnv {
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

export interface EngineFixture {
  /** Connected before the suite's first test. */
  readonly connection: EngineConnection;
  /** Loaded before the suite's first test. */
  readonly cache: ContainerCache;
  /** The suite's test containers, removed after the suite (and after each test unless told not to). */
  readonly own: TestContainers;
}

/**
 * Registers the hooks of a suite on the real engine, in the calling describe(): before all, connect
 * and wait for the container list; after each test, remove the suite's own test containers
 * (`removeEach: false` leaves that to the suite, to stop what watches them first); after all,
 * dispose the connection and cache and remove what is left. Only containers made through `own`
 * are removed: a run beside this one keeps its own.
 */
export function useEngine(o: { removeEach?: boolean } = {}): EngineFixture {
  const own = new TestContainers();
  let env: EngineEnv | undefined;
  const ready = () => {
    if (!env) throw new Error('the engine fixture is used before its before() hook ran');
    return env;
  };
  before(async () => {
    env = connect();
    await env.connection.connect();
    assert.equal(env.connection.state.kind, 'connected');
    await env.cache.waitFor((c) => c.isLoaded, 20_000);
  });
  if (o.removeEach !== false) afterEach(() => own.removeAll());
  after(async () => {
    env?.dispose();
    env = undefined;
    await own.removeAll();
  });
  return {
    own,
    get connection() {
      return ready().connection;
    },
    get cache() {
      return ready().cache;
    },
  };
}
