// Starting points for a new llmstack.yaml ("LLM Stack: New Stack from Template"). Each is a
// commented YAML file that explains its sections and starts from safe defaults: ports bound to
// 127.0.0.1, authentication on, no secrets in the file. Every template parses with no error or warning.

interface StackTemplate {
  readonly id: string;
  /** Shown in the quick pick. */
  readonly label: string;
  readonly description: string;
  readonly fileName: 'llmstack.yaml';
  /** The file's text; `name` replaces the template's default stack name. */
  text(options?: { readonly name?: string }): string;
}

/** The name as a YAML scalar that reads back as that string ("123" or "true" would not, unquoted). */
function yamlName(name: string): string {
  return /^[a-z][a-z0-9_.-]*$/.test(name) && !/^(?:true|false|null|yes|no|on|off|y|n)$/i.test(name) ? name : JSON.stringify(name);
}

/** The comment every template starts with: what the file is and how it is used. */
function header(title: string, name: string): string {
  return `# ${title}
#
# A stack file for LLM Local Stack: the LLM Stack commands plan (show what would change), apply
# (create or update the containers) and bring the stack down again. Hover a key for its meaning;
# "auto" values are filled in from this machine's CPU cores, memory and GPUs.

# Stack name: prefixes every container, volume and network the stack creates (lower case).
name: ${yamlName(name)}
`;
}

/** Said above every template's runtimes section. */
const RUNTIMES_NOTE = '# LLM runtimes, by service name. The name is also the host name other services use to reach it.';

/** How ports bind, said in every template above its first port (indented for a service's ports list). */
const PORTS_NOTE = `# "host:container", or one number for both. Without an address a port binds 127.0.0.1
      # (this machine only); write "0.0.0.0:host:container" only to share it on your network.`;

function template(id: string, label: string, description: string, defaultName: string, body: (name: string) => string): StackTemplate {
  return {
    id,
    label,
    description,
    fileName: 'llmstack.yaml',
    text: (options) => body(options?.name ?? defaultName),
  };
}

const ollamaOpenWebui = template(
  'ollama-openwebui',
  'Ollama + Open WebUI',
  'Ollama serving llama3.2:1b, with Open WebUI as a chat front end on http://localhost:3000',
  'ollama-webui',
  (name) => `${header('Ollama with Open WebUI', name)}
${RUNTIMES_NOTE}
runtimes:
  ollama:
    kind: ollama                 # decides how params map to the runtime's settings
    image: ollama/ollama:latest
    ports:
      ${PORTS_NOTE}
      - "11434"                  # Ollama's API on http://127.0.0.1:11434
    volumes:
      - models:/root/.ollama     # a named volume: pulled models survive re-creating the container
    gpu: auto                    # all NVIDIA GPUs when there are any, else CPU only
    params:
      contextSize: auto          # sized from free memory; hover it to see the value and why
    models:
      # Pulled after apply when missing; keepLoaded loads it and keeps it in memory.
      - name: llama3.2:1b
        keepLoaded: true
    restart: unless-stopped
    healthcheck:
      # Healthy once the server answers; Open WebUI waits for this before it starts.
      test: ["CMD", "ollama", "list"]
      interval: 10s
      timeout: 5s
      retries: 5
      startPeriod: 10s

# User interfaces, by service name.
uis:
  webui:
    kind: openwebui              # wired to its runtime through Open WebUI's own settings
    image: ghcr.io/open-webui/open-webui:main
    runtime: ollama              # talks to the ollama service, and starts after it is healthy
    ports:
      ${PORTS_NOTE}
      - "3000:8080"              # http://localhost:3000
    volumes:
      - webui:/app/backend/data  # accounts, chats and settings
    # Sign-in stays on (safe by default): the first account you create becomes the admin.
    # On a single-user machine you can turn it off, before any account exists, with:
    # env:
    #   WEBUI_AUTH: "False"
    restart: unless-stopped
`,
);

const llamacppGguf = template(
  'llamacpp-gguf',
  'llama.cpp server over local GGUF files',
  "llama.cpp's OpenAI-compatible server for a GGUF file in ./models, on http://localhost:8080",
  'llamacpp',
  (name) => `${header('llama.cpp server over a folder of GGUF files', name)}
${RUNTIMES_NOTE}
runtimes:
  llamacpp:
    kind: llamacpp
    # The CPU build. For NVIDIA GPUs use ghcr.io/ggml-org/llama.cpp:server-cuda (gpuLayers needs it).
    image: ghcr.io/ggml-org/llama.cpp:server
    ports:
      ${PORTS_NOTE}
      - "8080"                   # OpenAI-compatible API on http://127.0.0.1:8080/v1
    volumes:
      # ./models next to this file, mounted read-only: put your .gguf files there.
      - ./models:/models:ro
    # Arguments for llama-server. Inside the container it listens on 0.0.0.0 so the published port
    # reaches it; on this machine the port is still bound to 127.0.0.1 (see ports).
    command: ["-m", "/models/model.gguf", "--host", "0.0.0.0", "--port", "8080"]
    gpu: auto
    params:
      # Appended to the command as --threads, --n-gpu-layers and --ctx-size; "auto" picks values
      # from the cores, the GPU memory and the model file's size.
      threads: auto
      gpuLayers: auto
      contextSize: auto
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/health"]
      interval: 10s
      timeout: 5s
      retries: 5
      startPeriod: 30s           # loading a large model takes a while
`,
);

const vllmNvidia = template(
  'vllm-nvidia',
  'vLLM on NVIDIA GPUs',
  "vLLM's OpenAI-compatible server for a Hugging Face model, on http://localhost:8000 (needs an NVIDIA GPU)",
  'vllm',
  (name) => `${header('vLLM on NVIDIA GPUs', name)}
${RUNTIMES_NOTE}
runtimes:
  vllm:
    kind: vllm
    image: vllm/vllm-openai:latest
    gpu: all                     # vLLM needs a GPU: every NVIDIA GPU of this machine
    shmSize: 8g                  # vLLM's tensor-parallel workers share memory through /dev/shm
    # The model to serve (a Hugging Face repository); it is downloaded on first start.
    command: ["--model", "Qwen/Qwen2.5-0.5B-Instruct"]
    ports:
      ${PORTS_NOTE}
      - "8000"                   # OpenAI-compatible API on http://127.0.0.1:8000/v1
    volumes:
      - hf-cache:/root/.cache/huggingface   # downloaded weights survive re-creation
    env:
      # Gated models (Llama, Gemma, …) need a Hugging Face token as HF_TOKEN. Set it in your shell
      # or a secret store, never commit it to this file.
      # HF_TOKEN: <set in your shell / secret, never commit>
      VLLM_NO_USAGE_STATS: "1"
    params:
      contextSize: auto          # --max-model-len, sized from free GPU memory
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"]
      interval: 15s
      timeout: 5s
      retries: 5
      startPeriod: 10m           # the first start downloads the model
`,
);

const tgi = template(
  'tgi',
  'Hugging Face Text Generation Inference',
  'TGI serving a Hugging Face model, on http://localhost:8081',
  'tgi',
  (name) => `${header('Hugging Face Text Generation Inference (TGI)', name)}
${RUNTIMES_NOTE}
runtimes:
  tgi:
    kind: tgi
    image: ghcr.io/huggingface/text-generation-inference:latest
    gpu: auto                    # TGI runs best on NVIDIA GPUs; without one it is slow
    shmSize: 1g                  # TGI needs it for NCCL (Docker's default /dev/shm is 64 MB)
    # The model to serve (a Hugging Face repository); it is downloaded into /data on first start.
    command: ["--model-id", "HuggingFaceTB/SmolLM2-360M-Instruct"]
    ports:
      ${PORTS_NOTE}
      - "8081:80"                # TGI listens on port 80 inside; http://127.0.0.1:8081 here
    volumes:
      - data:/data               # downloaded weights survive re-creation
    # Gated models need a Hugging Face token: set HF_TOKEN in your shell or a secret store, never here.
    restart: unless-stopped
`,
);

const cpuSmall = template(
  'cpu-small',
  'Small model on CPU only (llama.cpp)',
  'llama.cpp running a small GGUF model with no GPU, on http://localhost:8080',
  'cpu-small',
  (name) => `${header('A small model on CPU only (llama.cpp)', name)}
${RUNTIMES_NOTE}
runtimes:
  llm:
    kind: llamacpp
    image: ghcr.io/ggml-org/llama.cpp:server
    ports:
      ${PORTS_NOTE}
      - "8080"                   # OpenAI-compatible API on http://127.0.0.1:8080/v1
    volumes:
      # Put a small GGUF file in ./models next to this file, e.g. qwen2.5-0.5b-instruct-q4_k_m.gguf
      # from the Hugging Face repository Qwen/Qwen2.5-0.5B-Instruct-GGUF (about 400 MB).
      - ./models:/models:ro
    command: ["-m", "/models/qwen2.5-0.5b-instruct-q4_k_m.gguf", "--host", "0.0.0.0", "--port", "8080"]
    gpu: none                    # CPU only, even on a machine with GPUs
    params:
      threads: auto              # from this machine's CPU cores
      contextSize: 2048          # small context: little memory, fast first token
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/health"]
      interval: 10s
      timeout: 5s
      retries: 5
      startPeriod: 20s
`,
);

export const stackTemplates: readonly StackTemplate[] = [ollamaOpenWebui, llamacppGguf, vllmNvidia, tgi, cpuSmall];

/** The template with this id, or undefined. */
export function findStackTemplate(id: string): StackTemplate | undefined {
  return stackTemplates.find((t) => t.id === id);
}
