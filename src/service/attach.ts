// service.attach: an editor window tells the service what is its own and not the user's: the
// runtimes its settings name (endpoints and GGUF folders, a workspace's included where the
// workspace is trusted) and the Docker engine it uses. The service adds those runtimes to its
// catalog for as long as the window's event stream is open, so idle unloads and health probes
// cover them once for every window; it answers whether the window's engine is its own, and a
// window on another engine watches that engine's containers itself.
import { z } from 'zod';
import { defineUseCase } from '../app/useCase';
import { ggufFolderEndpoint } from '../core/runtimes/ggufFolder';
import { parseUserEndpoints } from '../core/runtimes/discovery';
import type { RuntimeEndpoint } from '../core/runtimes/runtime';

/** The runtimes each attached client brought, by client id. */
export class ClientRuntimes {
  private readonly byClient = new Map<string, RuntimeEndpoint[]>();

  constructor(private readonly changed: () => void) {}

  set(client: string, endpoints: RuntimeEndpoint[]): void {
    this.byClient.set(client, endpoints);
    this.changed();
  }

  /** The client's event stream closed: its runtimes go (unless another client has them too). */
  drop(client: string): void {
    if (this.byClient.delete(client)) this.changed();
  }

  all(): RuntimeEndpoint[] {
    return [...this.byClient.values()].flat();
  }
}

interface AttachDeps {
  readonly clients: ClientRuntimes;
  /** The URL of the engine the service is connected to (its first candidate). */
  readonly engine: () => string | undefined;
}

export const attach = defineUseCase({
  name: 'service.attach',
  summary: "Hands the service a client's own runtimes (endpoints and GGUF folders, as its settings say) for as long as its event stream with ?client=ID stays open, and tells whether the client's Docker engine is the service's.",
  input: z.object({
    client: z.string().min(1).max(128),
    /** The Docker engine URL the client resolved (unix:///var/run/docker.sock, tcp://…). */
    engine: z.string().max(4096).optional(),
    /** llmStack.runtimes.endpoints as the client reads it; checked here, entry by entry. */
    endpoints: z.array(z.unknown()).max(200).default([]),
    ggufFolders: z.array(z.string().min(1).max(4096)).max(200).default([]),
  }),
  output: z.object({
    /** True when the client and the service use the same engine: the service watches it for both. */
    sameEngine: z.boolean(),
    engine: z.string().nullable(),
    /** Entries of `endpoints` that were not used, with why. */
    problems: z.array(z.string()),
  }),
  run: (deps: AttachDeps, input) => {
    const parsed = parseUserEndpoints(input.endpoints);
    deps.clients.set(input.client, [...parsed.endpoints, ...input.ggufFolders.map((f) => ggufFolderEndpoint(f))]);
    const engine = deps.engine() ?? null;
    return Promise.resolve({ sameEngine: !!input.engine && input.engine === engine, engine, problems: parsed.errors });
  },
});
