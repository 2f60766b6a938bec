// How each runtime kind takes threads, GPU layers, context size and parallelism: flags or environment.
import type { StackRuntimeKind } from './schema';
import type { ResolvedParams } from './types';

interface ParamMapping {
  /** Appended to the service's command (the image's entrypoint receives them). */
  readonly args: string[];
  readonly env: Record<string, string>;
  /** Parameters this kind cannot take at container level (shown as a warning, not an error). */
  readonly ignored: ('threads' | 'gpuLayers' | 'contextSize' | 'parallel')[];
}

export function paramMapping(kind: StackRuntimeKind, p: ResolvedParams): ParamMapping {
  const args: string[] = [];
  const env: Record<string, string> = {};
  const ignored: ParamMapping['ignored'] = [];
  const arg = (flag: string, v: number | undefined) => {
    if (v !== undefined) args.push(flag, String(v));
  };
  const envOf = (name: string, v: number | undefined) => {
    if (v !== undefined) env[name] = String(v);
  };
  const ignore = (...names: ParamMapping['ignored']) => {
    for (const n of names) if (p[n] !== undefined) ignored.push(n);
  };
  switch (kind) {
    case 'llamacpp':
      arg('--threads', p.threads);
      arg('--n-gpu-layers', p.gpuLayers);
      arg('--ctx-size', p.contextSize);
      arg('--parallel', p.parallel);
      break;
    case 'ollama':
      // Threads and GPU layers are per-model options in Ollama (num_thread, num_gpu), not server settings.
      envOf('OLLAMA_CONTEXT_LENGTH', p.contextSize);
      envOf('OLLAMA_NUM_PARALLEL', p.parallel);
      ignore('threads', 'gpuLayers');
      break;
    case 'vllm':
      arg('--max-model-len', p.contextSize);
      arg('--max-num-seqs', p.parallel);
      ignore('threads', 'gpuLayers');
      break;
    case 'tgi':
      arg('--max-total-tokens', p.contextSize);
      arg('--max-concurrent-requests', p.parallel);
      ignore('threads', 'gpuLayers');
      break;
    case 'localai':
      envOf('LOCALAI_THREADS', p.threads);
      envOf('LOCALAI_CONTEXT_SIZE', p.contextSize);
      envOf('LOCALAI_PARALLEL_REQUESTS', p.parallel);
      ignore('gpuLayers');
      break;
    case 'other':
      ignore('threads', 'gpuLayers', 'contextSize', 'parallel');
      break;
  }
  return { args, env, ignored };
}
