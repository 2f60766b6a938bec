#!/usr/bin/env bash
# Runs BENCH_RUNS generations of BENCH_PROMPT on each of BENCH_MODELS (MODEL or RUNTIME/MODEL) and
# writes every run (output tokens, duration, tokens/s) and each model's median tokens/s to a JSON
# file, whose path goes to the step's outputs (the action uploads it).
set -euo pipefail
: "${BENCH_MODELS:?BENCH_MODELS is not set}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set (this runs inside a GitHub Actions job)}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set (this runs inside a GitHub Actions job)}"
runs=${BENCH_RUNS:-3}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "::error::benchmark-runs must be a positive whole number, not '$runs'"; exit 1; }
dir="$RUNNER_TEMP/llmstack-benchmark"
mkdir -p "$dir"
lines="$dir/runs.jsonl"
: > "$lines"
IFS=',' read -ra models <<< "$BENCH_MODELS"
for spec in "${models[@]}"; do
  spec=$(echo "$spec" | xargs)
  [[ -n "$spec" ]] || continue
  args=(--model "${spec#*/}")
  [[ "$spec" == */* ]] && args+=(--runtime "${spec%%/*}")
  for ((i = 1; i <= runs; i++)); do
    out=$(llmstack --json prompt "${args[@]}" --max-tokens 64 "${BENCH_PROMPT:-Write one sentence about the sea.}")
    node -e 'const r = JSON.parse(process.argv[1]); console.log(JSON.stringify({ model: process.argv[2], run: Number(process.argv[3]), outputTokens: r.outputTokens ?? null, durationMs: r.durationMs, tokensPerSecond: r.tokensPerSecond ?? null }))' "$out" "$spec" "$i" >> "$lines"
  done
done
file="$dir/results.json"
node -e '
const fs = require("node:fs");
const runs = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null; };
const models = [...new Set(runs.map((r) => r.model))].map((model) => ({ model, runs: runs.filter((r) => r.model === model).length, medianTokensPerSecond: median(runs.filter((r) => r.model === model && r.tokensPerSecond !== null).map((r) => r.tokensPerSecond)), medianDurationMs: median(runs.filter((r) => r.model === model).map((r) => r.durationMs)) }));
fs.writeFileSync(process.argv[2], JSON.stringify({ at: new Date().toISOString(), prompt: process.argv[3], models, runs }, null, 2) + "\n");
for (const m of models) console.log(`${m.model}: median ${m.medianTokensPerSecond?.toFixed(1) ?? "?"} tokens/s over ${m.runs} runs`);
' "$lines" "$file" "${BENCH_PROMPT:-}"
echo "file=$file" >> "$GITHUB_OUTPUT"
