// After an apply: each runtime gets the models its `models:` list names, pulled when missing and
// loaded when `keepLoaded`, through the model catalog (the one owner of runtime operations), once
// the catalog has found the runtime's container and listed it.
import { errorMessage } from '../lifecycle';
import type { RuntimeState } from '../runtimes/catalog';
import type { PullSnapshot } from '../runtimes/pullProgress';
import type { DesiredService } from './containerSpec';

/** What is needed of the ModelCatalog. */
export interface StackModelHost {
  list(): readonly RuntimeState[];
  waitFor(predicate: (c: StackModelHost) => boolean, timeoutMs: number): Promise<void>;
  pull(runtimeId: string, name: string, onProgress: (s: PullSnapshot) => void, signal?: AbortSignal): Promise<void>;
  load(runtimeId: string, name: string, keepAlive?: string | number): Promise<void>;
}

export interface StackModelResult {
  readonly service: string;
  readonly model: string;
  readonly outcome: 'present' | 'pulled' | 'loaded' | 'skipped' | 'queued' | 'failed';
  readonly message?: string;
}

interface EnsureModelsOptions {
  /** How long a runtime may take to be found and listed by the catalog (default 120 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (message: string) => void;
  /** Takes a `pull: idle` model that is missing, to pull once the machine is idle; without it such a model is pulled now. */
  readonly queueIdlePull?: (runtimeId: string, name: string) => string;
}

/** "llama3.2:1b" and "llama3.2:1b" match; "tiny" matches Ollama's "tiny:latest". */
export function sameModel(listed: string, wanted: string): boolean {
  return listed === wanted || (!wanted.includes(':') && listed === `${wanted}:latest`);
}

/**
 * Pulls and loads what the file asks for. `containerOf` gives the container id of a service (after
 * the apply). Failures are reported per model; one model's failure does not stop the others.
 */
export async function ensureStackModels(host: StackModelHost, desired: readonly DesiredService[], containerOf: (service: string) => string | undefined, o: EnsureModelsOptions = {}): Promise<StackModelResult[]> {
  const results: StackModelResult[] = [];
  const timeoutMs = o.timeoutMs ?? 120_000;
  await Promise.all(
    desired
      .filter((d) => d.section === 'runtimes' && d.models.length > 0 && d.desiredState === 'running')
      .map(async (d) => {
        const id = containerOf(d.service);
        const fail = (model: string, message: string) => results.push({ service: d.service, model, outcome: 'failed', message });
        if (!id) {
          for (const m of d.models) fail(m.name, `the container of ${d.service} was not found after the apply`);
          return;
        }
        const runtime = () => host.list().find((r) => r.endpoint.containerId === id);
        o.onProgress?.(`waiting for ${d.service} to answer…`);
        try {
          await host.waitFor(() => runtime()?.status === 'ok', timeoutMs);
        } catch {
          const r = runtime();
          const why = r ? (r.error ?? `its listing is ${r.status}`) : 'no runtime was found for its container (is its API port published?)';
          for (const m of d.models) fail(m.name, `${d.service} did not answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}: ${why}`);
          return;
        }
        // One model after the other per runtime: runtimes pull and load one at a time anyway.
        for (const m of d.models) {
          o.signal?.throwIfAborted();
          const r = runtime();
          if (!r) {
            fail(m.name, `${d.service} is no longer known to the model catalog (its container stopped or was recreated)`);
            continue;
          }
          const present = r.models.some((x) => sameModel(x.name, m.name));
          try {
            if (!present) {
              if (!m.pull) {
                results.push({ service: d.service, model: m.name, outcome: 'skipped', message: 'not present, and pull is false' });
                continue;
              }
              if (m.pull === 'idle' && o.queueIdlePull) {
                results.push({ service: d.service, model: m.name, outcome: 'queued', message: o.queueIdlePull(r.endpoint.id, m.name) });
                continue;
              }
              o.onProgress?.(`pulling ${m.name} on ${d.service}…`);
              await host.pull(r.endpoint.id, m.name, () => undefined, o.signal);
            }
            if (m.keepLoaded) {
              o.onProgress?.(`loading ${m.name} on ${d.service}…`);
              // -1: Ollama keeps it loaded until told otherwise.
              await host.load(r.endpoint.id, m.name, -1);
              results.push({ service: d.service, model: m.name, outcome: 'loaded' });
            } else {
              results.push({ service: d.service, model: m.name, outcome: present ? 'present' : 'pulled' });
            }
          } catch (e) {
            fail(m.name, errorMessage(e));
          }
        }
      }),
  );
  return results;
}
