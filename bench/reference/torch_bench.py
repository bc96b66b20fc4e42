#!/usr/bin/python3
"""PyTorch side of the MLNet.Diffusion side-by-side benchmark (bench/MLNet.Diffusion.Bench).

The C# driver starts this script once, as a persistent child process, and talks to it over a line protocol:
it writes one command per line on stdin and reads exactly one JSON object per line from stdout.

    conv N      run N conv-net training steps     -> {"bench": "conv", "ms": [per-iteration milliseconds],
                                                      "minflt": minor page faults during the N steps}
    block N     run N attention-block fwd+bwd     -> {"bench": "block", "ms": [...], "minflt": ...}
    check PATH  load weights and inputs written by the driver (safetensors), run one probe step of each
                workload and return its numbers      -> {"conv": [loss, loss after the AdamW step],
                                                         "block": [loss, gradient L2 norm]}
    rss         peak resident set size            -> {"max_rss_kib": K}
    quit        exit                              -> {"bye": true}

On start-up it answers one line {"ready": true, "torch": version, "threads": n, "parameters": {...}, ...} once the
models are built.
Any failure is answered as {"error": "..."} on its line, so the driver never hangs on a missing answer.

The models mirror ConvNetBenchmark.cs and AttentionBlockBenchmark.cs exactly: same shapes, same layers, same
loss, same optimiser settings. Run it with Debian's interpreter (/usr/bin/python3), which has python3-torch.
"""

import argparse
import ctypes
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# Shapes shared with the C# side; keep them in sync with ConvNetBenchmark.cs and AttentionBlockBenchmark.cs.
CONV_INPUT = (16, 3, 32, 32)
CONV_CHANNELS = 64
CONV_GROUPS = 8
BLOCK_INPUT = (8, 128, 16, 16)
BLOCK_GROUPS = 32
BLOCK_HEADS = 4


class ConvBenchmark:
    """(a) One AdamW training step of a small conv net against an MSE target."""

    def __init__(self):
        c = CONV_CHANNELS
        self.model = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1),
            nn.GroupNorm(CONV_GROUPS, c),
            nn.SiLU(),
            nn.Conv2d(c, c, 3, padding=1),
            nn.GroupNorm(CONV_GROUPS, c),
            nn.SiLU(),
            nn.Conv2d(c, 3, 3, padding=1),
        )
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4, weight_decay=0.01)
        self.x = torch.randn(CONV_INPUT)
        self.target = torch.randn(CONV_INPUT)

    def parameter_count(self):
        return sum(p.numel() for p in self.model.parameters())

    def load(self, tensors):
        self.x = tensors.pop("input")
        self.target = tensors.pop("target")
        self.model.load_state_dict(tensors)

    def probe(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(self.model(self.x), self.target)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            after = F.mse_loss(self.model(self.x), self.target)
        return [loss.item(), after.item()]

    def step(self):
        # A function, so the step's tensors are released on return, inside the timed region (as the C#
        # dispose scope releases them inside its timed region).
        self.optimizer.zero_grad(set_to_none=True)
        y = self.model(self.x)
        loss = F.mse_loss(y, self.target)
        loss.backward()
        self.optimizer.step()


class AttentionBlock(nn.Module):
    """(b) conv3x3(silu(group_norm(x))) + x, then single-head-group self-attention over H·W with a residual."""

    def __init__(self, channels, groups, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.GroupNorm(groups, channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm_attn = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x))) + x
        b, c, height, width = h.shape
        hw = height * width
        d = c // self.heads
        q, k, v = self.qkv(self.norm_attn(h)).chunk(3, dim=1)
        # [B, C, H, W] -> [B, heads, d, HW] -> [B, heads, HW, d]
        q = q.reshape(b, self.heads, d, hw).transpose(-2, -1)
        k = k.reshape(b, self.heads, d, hw).transpose(-2, -1)
        v = v.reshape(b, self.heads, d, hw).transpose(-2, -1)
        # torch 1.13 has no F.scaled_dot_product_attention; this is the same composition, in the same order,
        # as the shim's fallback in src/Native/src/nn.cpp: matmul, then the scale, then softmax, then matmul.
        scale = 1.0 / math.sqrt(d)
        scores = torch.matmul(q, k.transpose(-2, -1)) * scale
        attn = torch.matmul(torch.softmax(scores, -1), v)
        # [B, heads, HW, d] -> [B, heads, d, HW] -> [B, C, H, W]
        out = attn.transpose(-2, -1).reshape(b, c, height, width)
        return self.proj(out) + h


class BlockBenchmark:
    """(b) Forward and backward of the attention block; gradients dropped each iteration, no optimiser."""

    def __init__(self):
        self.block = AttentionBlock(BLOCK_INPUT[1], BLOCK_GROUPS, BLOCK_HEADS)
        self.x = torch.randn(BLOCK_INPUT)

    def parameter_count(self):
        return sum(p.numel() for p in self.block.parameters())

    def load(self, tensors):
        self.x = tensors.pop("input")
        self.block.load_state_dict(tensors)

    def probe(self):
        self.block.zero_grad(set_to_none=True)
        loss = self.block(self.x).square().mean()
        loss.backward()
        grad_squares = sum(p.grad.square().sum().item() for p in self.block.parameters())
        return [loss.item(), math.sqrt(grad_squares)]

    def step(self):
        self.block.zero_grad(set_to_none=True)
        y = self.block(self.x)
        loss = y.square().mean()
        loss.backward()


def load_safetensors(path):
    """float32 tensors from a safetensors file: 8-byte little-endian header length, JSON header, raw data.

    python3-torch 1.13 has no safetensors reader and the file is small, so this reads the format directly.
    """
    with open(path, "rb") as f:
        data = f.read()
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_length])
    base = 8 + header_length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: expected F32, got {info['dtype']}")
        start, end = info["data_offsets"]
        raw = bytearray(data[base + start:base + end])  # writable, so torch.frombuffer does not warn
        tensors[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(info["shape"])
    return tensors


def check(benchmarks, path):
    """Loads '<workload>.<name>' tensors into each workload and runs its probe step."""
    tensors = load_safetensors(path)
    result = {}
    for name, benchmark in benchmarks.items():
        prefix = name + "."
        benchmark.load({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        result[name] = benchmark.probe()
    return result


def timed(name, step, iterations):
    """Per-iteration wall time in milliseconds, and the minor page faults of the whole block."""
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000.0)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"bench": name, "ms": times, "minflt": faults}


# glibc's mallopt parameters (malloc.h) and the values of the driver's steady setting (ProcessMemory.cs).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
STEADY_MMAP_THRESHOLD = 32 * 1024 * 1024
STEADY_TRIM_THRESHOLD = 1024 * 1024 * 1024


def make_malloc_steady():
    """The same glibc settings the driver applies to itself: see ProcessMemory.TryMakeMallocSteady."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return libc.mallopt(M_MMAP_THRESHOLD, STEADY_MMAP_THRESHOLD) == 1 and \
        libc.mallopt(M_TRIM_THRESHOLD, STEADY_TRIM_THRESHOLD) == 1


def answer(payload):
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, required=True, help="intra-op threads (torch.set_num_threads)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--malloc", choices=["steady", "default"], default="default",
                        help="steady: fixed glibc mmap/trim thresholds, as the driver sets for itself")
    args = parser.parse_args()

    # Before the first tensor, as on the driver's side.
    malloc_steady = make_malloc_steady() if args.malloc == "steady" else False
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    benchmarks = {"conv": ConvBenchmark(), "block": BlockBenchmark()}
    answer({
        "ready": True,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "malloc_steady": malloc_steady,
        # The driver checks these against its own models, a cheap guard against the two sides drifting apart.
        "parameters": {name: b.parameter_count() for name, b in benchmarks.items()},
    })

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            command = words[0]
            if command in benchmarks:
                iterations = int(words[1]) if len(words) > 1 else 1
                answer(timed(command, benchmarks[command].step, iterations))
            elif command == "check":
                answer(check(benchmarks, line.strip()[len("check"):].strip()))
            elif command == "rss":
                # Linux reports ru_maxrss in KiB.
                answer({"max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})
            elif command == "quit":
                answer({"bye": True})
                return
            else:
                answer({"error": f"unknown command {command!r}"})
        except Exception as e:  # answer every command, so the driver never waits forever
            answer({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
