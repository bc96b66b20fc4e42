#!/usr/bin/env bash
# docs/quality.md's recipe ablation: one axis at a time from the short-run recipe (class-conditional Fashion-MNIST, small preset,
# 200 steps × 64), each row scored on 1,000 images (KID and the classifier's accuracy at guidance 1).
# Usage: bench/ablation.sh [row...]   (default: every 200-step row; `bench/Ablation list` names them all)
# A row's JSON (and model zip) goes to out/ablation/; rows already there are not run again, so a later invocation adds rows.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/ablation; mkdir -p "$OUT"
dotnet build bench/Ablation -c Release -nologo -v quiet
bench/Ablation/bin/Release/net10.0/Ablation run "$OUT" "${@:-all}"
