// Smoke program for the runtime image: loads a GGUF model with real llama.cpp and generates tokens.
import { getLlama, LlamaCompletion } from 'node-llama-cpp';

const modelPath = process.argv[2] ?? '/models/model.gguf';
const t0 = performance.now();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 256 });
const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
const text = await completion.generateCompletion('hello world', { maxTokens: 16 });
console.log(JSON.stringify({ ok: true, loadAndGenerateMs: Math.round(performance.now() - t0), tokens: model.tokenize(text).length, trainContextSize: model.trainContextSize }));
await llama.dispose();
