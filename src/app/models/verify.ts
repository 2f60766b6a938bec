// models.verify: hashes a model's file on this machine and compares it with the digest the registry
// recorded, recording the first digest as the reference and auditing every check. An Ollama blob is
// named after its sha256, so its name is the truth; a GGUF file is compared with the registry.
// models.acceptVersion: takes a changed file's digest as the new reference.
import { z } from 'zod';
import { errorMessage } from '../../core/lifecycle';
import { digestSchema } from '../../core/registry/repositories';
import { CatalogError, type RuntimeState } from '../../core/runtimes/catalog';
import { expectedDigestFromPath, type IntegrityResult, isCancelled, verifyDigest } from '../../core/runtimes/integrity';
import { locateModelFile, type ModelFileLookup } from '../../core/runtimes/modelFiles';
import { formatBytes } from '../../core/runtimes/pullProgress';
import { capabilitiesOf, type RuntimeModel } from '../../core/runtimes/runtime';
import { Cancelled, defineUseCase } from '../useCase';
import type { ModelsDeps } from './deps';
import { compact, modelNameSchema, runtimeIdSchema } from './schemas';

/** The model's file on this machine: a GGUF folder's file, or an Ollama blob reached through its container's mounts. */
async function modelFile(deps: ModelsDeps, state: RuntimeState, model: RuntimeModel): Promise<ModelFileLookup> {
  if (model.file) return { file: model.file };
  const id = state.endpoint.containerId;
  if (!capabilitiesOf(state).modelfile || !id || !deps.inspectContainer) return { reason: 'its runtime does not run in a container of this engine' };
  return locateModelFile(await deps.catalog.modelfile(state.endpoint.id, model.name), await deps.inspectContainer(id));
}

/** An audit entry; the check's outcome stands even when the entry cannot be written. */
async function audit(deps: ModelsDeps, operation: string, target: string, error?: string): Promise<void> {
  try {
    await deps.registry.audit(operation, target, error);
  } catch (e) {
    deps.log?.warn(`Could not write the audit entry for ${operation} ${target}: ${errorMessage(e)}`);
  }
}

const verifyOutputSchema = z.object({
  /** unavailable: the file cannot be reached from here (message says why). */
  status: z.enum(['match', 'mismatch', 'no-record', 'unavailable']),
  /** What to tell the user, in one sentence. */
  message: z.string(),
  file: z.string().optional(),
  /** The digest recorded before the check. */
  expected: z.string().optional(),
  actual: z.string().optional(),
  bytes: z.number().optional(),
  ms: z.number().optional(),
});

export const verifyModel = defineUseCase({
  name: 'models.verify',
  summary: "Checks a model file's sha256 against the digest in the registry, recording the first one as the reference.",
  input: z.object({ runtimeId: runtimeIdSchema, name: modelNameSchema }),
  output: verifyOutputSchema,
  run: async (deps: ModelsDeps, { runtimeId, name }, { signal, progress }) => {
    const state = deps.catalog.get(runtimeId);
    const model = deps.catalog.model(runtimeId, name);
    const unavailable = (reason: string) => ({ status: 'unavailable' as const, message: `${name}: its integrity cannot be checked here: ${reason}.` });
    if (!state || !model) return unavailable('the runtime no longer lists it');
    const found = await modelFile(deps, state, model);
    if ('reason' in found) return unavailable(found.reason);
    const file = found.file;
    const recorded = expectedDigestFromPath(file) ?? (await deps.registry.recordedDigest(state.endpoint, model));
    // The check starts: a front end may show it from here (a file out of reach ended before).
    progress?.({ fraction: 0 });
    let result: IntegrityResult;
    try {
      result = await verifyDigest(file, recorded, {
        signal,
        onProgress: (done, total) => progress?.({ message: `${formatBytes(done)} of ${formatBytes(total)}`, fraction: total ? Math.min(1, done / total) : undefined, completed: done, total }),
      });
    } catch (e) {
      // Said as the check says it ("Checking <file> was cancelled.").
      if (isCancelled(e) || signal?.aborted) throw Object.assign(new Cancelled(`Checking ${file}`), { message: errorMessage(e) });
      throw e;
    }
    const target = `${state.endpoint.name}/${name}`;
    const facts = compact({ file, expected: result.expected, actual: result.actual, bytes: result.bytes, ms: result.ms });
    if (result.status === 'match') {
      await audit(deps, 'model.verify', target);
      return { status: 'match' as const, message: `${name}: sha256 matches the recorded digest (${result.actual.slice(7, 19)}…, ${formatBytes(result.bytes)}).`, ...facts };
    }
    if (result.status === 'no-record') {
      await deps.registry.recordDigest(state.endpoint, model, result.actual);
      await audit(deps, 'model.verify', target);
      return { status: 'no-record' as const, message: `${name}: no digest was recorded; recorded ${result.actual.slice(0, 19)}… as its reference. Verify again later to detect changes.`, ...facts };
    }
    const message = `${name}: the file changed — its sha256 is ${result.actual.slice(0, 19)}…, the registry recorded ${result.expected?.slice(0, 19)}…. It was modified or damaged since; pull or copy it again, or accept it as a new version.`;
    await audit(deps, 'model.verify', target, message);
    return { status: 'mismatch' as const, message, ...facts };
  },
});

export const acceptModelVersion = defineUseCase({
  name: 'models.acceptVersion',
  summary: "Records a changed model file's digest as its new reference, after a check found it changed.",
  input: z.object({ runtimeId: runtimeIdSchema, name: modelNameSchema, digest: digestSchema }),
  /** The digest now recorded as the reference. */
  output: z.object({ digest: z.string() }),
  run: async (deps: ModelsDeps, { runtimeId, name, digest }) => {
    const state = deps.catalog.get(runtimeId);
    if (!state) throw new CatalogError(`The runtime ${runtimeId} is no longer known; refresh the Models view.`, 'not-found');
    // Its metadata comes from the listing, as every registry write of a model's row does.
    const model = deps.catalog.model(runtimeId, name);
    if (!model) throw new CatalogError(`${state.endpoint.name} no longer lists ${name}; nothing was recorded.`, 'not-found');
    await deps.registry.recordDigest(state.endpoint, model, digest);
    await audit(deps, 'model.acceptVersion', `${state.endpoint.name}/${name}`);
    return { digest };
  },
});
