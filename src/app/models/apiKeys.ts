// Runtime API keys (a Bearer token for an OpenAI-compatible server) where the process that talks to
// the runtimes can read them: the editor's secret storage for a window, the service's key store
// (0600 file) for the service. One name for a key in every store; never logged, never returned.
import { z } from 'zod';
import type { KeyStore } from '../registry/host';
import { defineUseCase } from '../useCase';

/** The secret's name for a runtime endpoint's API key, the same in every store. */
export function apiKeySecret(endpointId: string): string {
  return `llmStack.apiKey.${endpointId}`;
}

interface ApiKeyDeps {
  readonly keys: KeyStore;
  /** Lists the runtime again with its new key (unknown ids are fine: the key waits for it). */
  readonly refresh: (endpointId: string) => Promise<void>;
}

export const setApiKey = defineUseCase({
  name: 'runtimes.setApiKey',
  summary: "Keeps a runtime endpoint's API key for the service's listings, probes and idle unloads (null removes it). The key is never answered back.",
  input: z.object({ endpointId: z.string().min(1).max(4096), key: z.string().min(1).max(16_384).nullable() }),
  output: z.object({ stored: z.boolean() }),
  run: async (deps: ApiKeyDeps, input) => {
    const name = apiKeySecret(input.endpointId);
    const key = input.key?.trim();
    if (key) await deps.keys.set(name, key);
    else await deps.keys.delete(name);
    await deps.refresh(input.endpointId);
    return { stored: !!key };
  },
});
