#!/usr/bin/env bash
# docs/training.md's small folder: 88 Fashion-MNIST images of four classes at 16 px, trained by `mlnet-diffusion train` with
# its defaults for each step count, each model's images classified by the committed feature network's classifier; then
# each model's memorization and KID against the folder through `mlnet-diffusion eval`.
# Usage: bench/small-folder.sh [steps...]   (default: 100 200 400 800). Results in out/ablation/small-folder*; models
# already there are scored again, not retrained.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/ablation; mkdir -p "$OUT"
if (($#)); then STEPS=("$@"); else STEPS=(100 200 400 800); fi
for s in "${STEPS[@]}"; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] || { echo "bench/small-folder.sh: '$s' is not a step count (a whole number ≥ 1)" >&2; exit 2; }
done
dotnet build src/MLNet.Diffusion.Cli -c Release -nologo -v quiet
dotnet build bench/Ablation -c Release -nologo -v quiet
CLI=src/MLNet.Diffusion.Cli/bin/Release/net10.0/mlnet-diffusion
bench/Ablation/bin/Release/net10.0/Ablation small-folder "$OUT" "$CLI" "${STEPS[@]}"
for s in "${STEPS[@]}"; do
  "$CLI" eval --model "$OUT/small-folder-$s.zip" --data "$OUT/small-folder" --count 400 --json "$OUT/small-folder-$s.eval"
done
