#!/usr/bin/env bash
# The quality table of docs/quality.md: trains the small preset on Fashion-MNIST with our trainer and with the PyTorch
# reference (same recipe, same seed, same budget), then measures FID (mlnet-diffusion eval) for each sampler setting
# and bits/dim on test images. Usage: bench/quality.sh [steps] [count] [ddpm-count] [bpd-count]  (defaults 1000 500 100 20)
# Results (JSON per row, and table.md) go to out/quality/. Models already trained there are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-1000}; COUNT=${2:-500}; DDPM_COUNT=${3:-100}; BPD_COUNT=${4:-20}
OUT=out/quality; mkdir -p "$OUT"
dotnet build src/MLNet.Diffusion.Cli -c Release -nologo -v quiet
CLI=src/MLNet.Diffusion.Cli/bin/Release/net10.0/mlnet-diffusion
[ -f "$OUT/ours-$STEPS.zip" ] || "$CLI" train --data fashion-mnist --recipe short-run --out "$OUT/ours-$STEPS.zip" --steps "$STEPS" --seed 0
[ -f "$OUT/pytorch-$STEPS.zip" ] || /usr/bin/python3 bench/reference/train_reference.py --steps "$STEPS" --seed 0 --out "$OUT/pytorch-$STEPS.zip"
for who in ours pytorch; do
  model="$OUT/$who-$STEPS.zip"
  row() { local name=$1; shift; [ -f "$OUT/$who-$name.json" ] || "$CLI" eval --model "$model" --json "$OUT/$who-$name.json" "$@"; }
  row dpm10 --count "$COUNT" --sampler dpm-solver++ --steps 10
  row dpm20 --count "$COUNT" --sampler dpm-solver++ --steps 20
  row ddim10 --count "$COUNT" --sampler ddim --steps 10
  row ddim20 --count "$COUNT" --sampler ddim --steps 20
  row ddim50 --count "$COUNT" --sampler ddim --steps 50
  row ddim100 --count "$COUNT" --sampler ddim --steps 100
  row bpd --count 2 --steps 1 --bits-per-dim-count "$BPD_COUNT"
  row ddpm1000 --count "$DDPM_COUNT" --sampler ddpm
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = [("DDPM, 1000 steps", "ddpm1000"), ("DDIM, 10 steps", "ddim10"), ("DDIM, 20 steps", "ddim20"),
        ("DDIM, 50 steps", "ddim50"), ("DDIM, 100 steps", "ddim100"), ("DPM-Solver++(2M), 10 steps", "dpm10"),
        ("DPM-Solver++(2M), 20 steps", "dpm20")]
def load(who, name):
    path = os.path.join(out, f"{who}-{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None
lines = ["| sampler | N | FID, ours | FID, PyTorch-trained | real-data floor at N |", "| --- | ---: | ---: | ---: | ---: |"]
for label, name in rows:
    a, b = load("ours", name), load("pytorch", name)
    f = lambda r: f"{r['Fid']:.2f}" if r else "not run"
    ref = a or b
    lines.append(f"| {label} | {ref['Count'] if ref else '-'} | {f(a)} | {f(b)} | {ref['RealDataFid']:.2f} |" if ref else f"| {label} | - | not run | not run | - |")
for who in ("ours", "pytorch"):
    r = load(who, "bpd")
    if r and r["BitsPerDim"]:
        lines.append(f"\nbits/dim, {who}: {r['BitsPerDim']['Total']:.3f} on {r['BitsPerDimCount']} test images")
open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
