// Labelled benchmark containers on the real engine: created with TEST_LABEL plus a per-run label, removed per run.
import Docker from 'dockerode';
import { createTestContainer, engine, removeTestContainers, TestContainerOptions, TEST_LABEL, uniqueName } from '../../test/support/engine';

/** Marks the containers of one bench run, so cleanup never touches containers of tests running beside it. */
export const BENCH_RUN_LABEL = 'io.llmstack.bench-run';
export const benchRunId = `${process.pid}-${Date.now().toString(36)}`;

let stopping = false;
const creating = new Set<Promise<unknown>>();

export function createBenchContainer(o: TestContainerOptions = {}): Promise<Docker.Container> {
  if (stopping) return Promise.reject(new Error('the bench is stopping; no new containers'));
  const p = createTestContainer({ name: uniqueName('llmstack-bench'), ...o, labels: { ...(o.labels ?? {}), [BENCH_RUN_LABEL]: benchRunId } });
  creating.add(p);
  const forget = () => creating.delete(p);
  p.then(forget, forget);
  return p;
}

/**
 * removeTestContainers, but scoped to this run: its listContainers only sees containers carrying
 * TEST_LABEL and this run's label (others may be running integration tests on the same engine).
 */
export async function removeBenchContainers(docker: Docker = engine()): Promise<void> {
  const scoped = Object.create(docker) as Docker;
  scoped.listContainers = ((options?: Docker.ContainerListOptions) =>
    docker.listContainers({ ...options, all: true, filters: { label: [TEST_LABEL, `${BENCH_RUN_LABEL}=${benchRunId}`] } })) as Docker['listContainers'];
  await removeTestContainers(scoped);
}

/** Creates count containers (not started) in parallel batches. */
export async function createManyBenchContainers(count: number, batch: number, o: TestContainerOptions = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const made = await Promise.all(Array.from({ length: n }, () => createBenchContainer({ ...o, start: false })));
    for (const c of made) ids.push(c.id);
  }
  return ids;
}

/** Cleanups to run if the process is interrupted (see runInterruptCleanups). */
export const interruptCleanups = new Set<() => Promise<void>>();

/** On SIGINT/SIGTERM: refuse new containers, let creations in flight land, then run the cleanups. */
export async function runInterruptCleanups(): Promise<void> {
  stopping = true;
  await Promise.allSettled([...creating]);
  await Promise.allSettled([...interruptCleanups].map((fn) => fn()));
}
