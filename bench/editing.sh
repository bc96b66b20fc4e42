#!/usr/bin/env bash
# docs/editing.md's measurements: trains a class-conditional small-preset model on Fashion-MNIST (the CLI's recipe, seed 0),
# then inpaints test images with their right half masked and edits them at three strengths (bench/EditingQuality), judged
# by the committed feature network's classifier. Usage: bench/editing.sh [steps] [images per class] [RePaint images per class]
# (defaults 1500 20 5). The model, editing.json and the pictures go to out/editing/; a model already trained there is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-1500}; PER_CLASS=${2:-20}; REPAINT_PER_CLASS=${3:-5}
OUT=out/editing; mkdir -p "$OUT"
dotnet build src/MLNet.Diffusion.Cli -c Release -nologo -v quiet
dotnet build bench/EditingQuality -c Release -nologo -v quiet
CLI=src/MLNet.Diffusion.Cli/bin/Release/net10.0/mlnet-diffusion
MODEL="$OUT/fashion-mnist-conditional-$STEPS.zip"
if [ ! -f "$MODEL" ]; then
  start=$(date +%s)
  "$CLI" train --data fashion-mnist --class-conditional --recipe short-run --steps "$STEPS" --seed 0 --out "$MODEL"
  echo "training: $(( $(date +%s) - start )) s for $STEPS steps" | tee "$OUT/training-time.txt"
fi
bench/EditingQuality/bin/Release/net10.0/EditingQuality "$MODEL" "$OUT" "$PER_CLASS" "$REPAINT_PER_CLASS"
