#!/usr/bin/env bash
# Benchmarks each of BENCH_MODELS (MODEL or RUNTIME/MODEL) with `llmstack bench` (pp/tg tokens/s,
# TTFT, TPOT, ITL, E2EL; stored in the registry and compared with its history), at the concurrency
# levels of BENCH_CONCURRENCY, in at most BENCH_RUNS rounds per level. Writes every result to a JSON
# file whose path goes to the step's outputs (the action uploads it). A model slower than its
# history fails the step when FAIL_ON_REGRESSION is true, after the file is written.
set -euo pipefail
: "${BENCH_MODELS:?BENCH_MODELS is not set}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set (this runs inside a GitHub Actions job)}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set (this runs inside a GitHub Actions job)}"
runs=${BENCH_RUNS:-3}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "::error::benchmark-runs must be a positive whole number, not '$runs'"; exit 1; }
concurrency=${BENCH_CONCURRENCY:-1}
[[ "$concurrency" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "::error::benchmark-concurrency must be numbers separated by commas, not '$concurrency'"; exit 1; }
dir="$RUNNER_TEMP/llmstack-benchmark"
mkdir -p "$dir"
lines="$dir/results.jsonl"
: > "$lines"
regressions=()
IFS=',' read -ra models <<< "$BENCH_MODELS"
for spec in "${models[@]}"; do
  spec=$(echo "$spec" | xargs)
  [[ -n "$spec" ]] || continue
  args=("${spec#*/}" --concurrency "$concurrency" --max-rounds "$runs" --max-tokens "${BENCH_MAX_TOKENS:-128}" --prompt-words "${BENCH_PROMPT_WORDS:-512}")
  [[ "$spec" == */* ]] && args+=(--runtime "${spec%%/*}")
  code=0
  out=$(llmstack --json bench "${args[@]}") || code=$?
  # 4: the run was stored, and it is slower than this machine's history.
  if [[ $code -ne 0 && $code -ne 4 ]]; then echo "::error::llmstack bench $spec failed (exit $code)"; exit 1; fi
  [[ $code -eq 4 ]] && regressions+=("$spec")
  node -e 'console.log(JSON.stringify({ model: process.argv[2], result: JSON.parse(process.argv[1]) }))' "$out" "$spec" >> "$lines"
done
file="$dir/results.json"
node -e '
const fs = require("node:fs");
const models = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
fs.writeFileSync(process.argv[2], JSON.stringify({ at: new Date().toISOString(), models, regression: models.some((m) => m.result.regression) }, null, 2) + "\n");
for (const m of models) for (const l of m.result.levels) console.log(`${m.model} at concurrency ${l.concurrency}: ${l.tgTps ? l.tgTps.p50.toFixed(1) : "?"} tokens/s (p50), TTFT p50 ${l.ttftMs ? l.ttftMs.p50.toFixed(0) : "?"} ms${l.regression.regression ? ", SLOWER than history" : ""}`);
' "$lines" "$file"
echo "file=$file" >> "$GITHUB_OUTPUT"
if [[ ${#regressions[@]} -gt 0 ]]; then
  echo "::warning::Slower than this machine's history: ${regressions[*]}"
  if [[ "${FAIL_ON_REGRESSION:-false}" == "true" ]]; then echo "::error::Benchmark regression: ${regressions[*]}"; exit 1; fi
fi
