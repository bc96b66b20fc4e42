#!/usr/bin/env bash
# docs/evaluation.md's measurements of evaluation on any images. Usage: bench/evaluation.sh [steps] [eval count] (defaults 600 1024).
#  1. bench/EvaluationCost measure: ResNet-18's pinned values, two halves of Fashion-MNIST's test set against test-vs-noise
#     through ResNet-18, the cost of each metric at N = 500, 1,000, 2,000 (out/evaluation/measurements.json).
#  2. An RGB folder end to end: 2,048 synthetic 32-px images of discs, squares and triangles (bench/EvaluationCost shapes),
#     the small preset trained on them with --eval-every, then eval --data on the folder (out/evaluation/shapes-eval.json,
#     closest-pairs.png, report.html). A model already trained there is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-600}; COUNT=${2:-1024}
OUT=out/evaluation; mkdir -p "$OUT"
dotnet build src/MLNet.Diffusion.Cli -c Release -nologo -v quiet
dotnet build bench/EvaluationCost -c Release -nologo -v quiet
CLI=src/MLNet.Diffusion.Cli/bin/Release/net10.0/mlnet-diffusion
COST=bench/EvaluationCost/bin/Release/net10.0/EvaluationCost
"$COST" measure "$OUT/measurements.json"
[ -d "$OUT/shapes" ] || "$COST" shapes "$OUT/shapes" 2048 32 0
MODEL="$OUT/shapes-$STEPS.zip"
if [ ! -f "$MODEL" ]; then
  start=$(date +%s)
  "$CLI" train --data "$OUT/shapes" --image-size 32 --recipe short-run --steps "$STEPS" --seed 0 --out "$MODEL" \
    --checkpoint-dir "$OUT/checkpoints-$STEPS" --checkpoint-every "$((STEPS / 4))" --eval-every "$((STEPS / 4))" --eval-count 250
  echo "training: $(( $(date +%s) - start )) s for $STEPS steps, evaluations included" | tee "$OUT/training-time.txt"
fi
start=$(date +%s)
"$CLI" eval --model "$MODEL" --data "$OUT/shapes" --count "$COUNT" --json "$OUT/shapes-eval.json" --pairs "$OUT/closest-pairs.png" --cache-dir "$OUT/cache"
echo "eval: $(( $(date +%s) - start )) s for $COUNT images" | tee "$OUT/eval-time.txt"
