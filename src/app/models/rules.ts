// The models feature's pure rules: which runtime or model an action applies to, how a list of
// names is read, and how a file check is worded. Front ends ask these before offering an action.
import type { RuntimeState } from '../../core/runtimes/catalog';
import { canVerify, capabilitiesOf } from '../../core/runtimes/runtime';

export type ModelAction = 'load' | 'unload' | 'delete';

/** "llama3.2:1b, qwen2.5:0.5b  x" → three names, each once, in order. */
export function parseModelNames(value: string): string[] {
  return [...new Set(value.split(/[\s,]+/).filter(Boolean))];
}

export function canPullInto(state: RuntimeState): boolean {
  return capabilitiesOf(state).pull;
}

export function canGenerateWith(state: RuntimeState): boolean {
  return capabilitiesOf(state).generate;
}

/** A folder of files has no server to send an API key to. */
export function takesApiKey(state: RuntimeState): boolean {
  return state.endpoint.api !== 'gguf';
}

/** Whether the action makes sense for this model now: the runtime can do it, and load only what is not loaded, unload only what is. */
export function canAct(state: RuntimeState, name: string, action: ModelAction): boolean {
  if (!capabilitiesOf(state)[action]) return false;
  const m = state.models.find((x) => x.name === name);
  return action === 'load' ? !!m && !m.loaded : action === 'unload' ? !!m?.loaded : !!m;
}

/** Whether the model's file can be hashed on this machine. */
export function canVerifyModel(state: RuntimeState, name: string): boolean {
  return canVerify(state, state.models.find((m) => m.name === name));
}

/** Tokens a second over the whole generation, when both are known and not zero. */
export function tokensPerSecond(outputTokens: number | undefined, durationMs: number): number | undefined {
  return outputTokens && durationMs ? outputTokens / (durationMs / 1000) : undefined;
}
