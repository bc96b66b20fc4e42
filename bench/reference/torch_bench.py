#!/usr/bin/python3
"""PyTorch side of the MLNet.Diffusion side-by-side benchmark (bench/MLNet.Diffusion.Bench).

The C# driver starts this script once, as a persistent child process, and talks to it over a line protocol:
it writes one command per line on stdin and reads exactly one JSON object per line from stdout.

    conv N          run N conv-net training steps -> {"bench": "conv", "ms": [per-iteration milliseconds],
                                                     "minflt": minor page faults during the N steps}
    block N         run N attention-block fwd+bwd -> {"bench": "block", "ms": [...], "minflt": ...}
    unet-train N    run N UNet training steps     -> {"bench": "unet-train", ...}
    unet-sample N   run N UNet sampling steps     -> {"bench": "unet-sample", ...}
    sample-run N S  run N whole DPM-Solver++ runs of S steps (diffusion.sample_loop from the loaded x_T)
                                                  -> {"bench": "sample-run", "ms": [per-run milliseconds], ...}
    profile S       one S-step run of sample-run under torch.autograd.profiler
                                                  -> {"total_ms": wall ms, "ops": {op name: [self CPU ms, calls]}}
    check IN OUT    load weights and inputs written by the driver (safetensors IN), run one probe step of each
                    workload, write the tensors the probes computed to OUT (safetensors, '<workload>.<name>')
                    and return the probes' numbers   -> {"conv": [loss, loss after the AdamW step],
                                                         "block": [loss, gradient L2 norm],
                                                         "unet-train": [loss], "unet-sample": [mean |output|],
                                                         "sample-run": [mean |x|]}
    rss         resident set size now and its peak -> {"max_rss_kib": K, "rss_kib": K, "hwm_kib": K}
    rss-reset   reset the peak to the current size -> {"rss_kib": K} (Linux: /proc/self/clear_refs)
    quit        exit                              -> {"bye": true}

On start-up it answers one line {"ready": true, "torch": version, "threads": n, "parameters": {...}, ...} once the
models are built.
Any failure is answered as {"error": "..."} on its line, so the driver never hangs on a missing answer.

The models mirror ConvNetBenchmark.cs, AttentionBlockBenchmark.cs, UNetTrainBenchmark.cs, UNetSampleBenchmark.cs and
OnnxSampleBenchmark.cs (sample-run) exactly: same shapes, same layers, same loss, same optimiser settings; the UNet
workloads use unet.py and diffusion.py, our UNet2D, training step and samplers in PyTorch. Run it with Debian's
interpreter (/usr/bin/python3), which has python3-torch.
"""

import argparse
import ctypes
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffusion  # noqa: E402  (next to this script)
from unet import UNet2D, UNetConfig, parameter_count  # noqa: E402

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
        # torch 1.13 has no F.scaled_dot_product_attention: matmul, then the scale, then softmax, then matmul. Ours
        # calls libtorch 2.10's fused kernel through TorchSharp; the two agree to float32 rounding, which the
        # driver's check allows for.
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


def check(benchmarks, path, output_path):
    """Loads '<workload>.<name>' tensors into each workload, runs its probe step and writes what the probes computed."""
    tensors = diffusion.load_safetensors(path)
    result = {}
    outputs = {}
    for name, benchmark in benchmarks.items():
        prefix = name + "."
        benchmark.load({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        result[name] = benchmark.probe()
        for key, value in getattr(benchmark, "probe_tensors", {}).items():
            outputs[prefix + key] = value
    diffusion.save_safetensors(output_path, outputs)
    return result


UNET_TRAIN_PROBE_SEED = 1234  # UNetTrainBenchmark.ProbeSeed
UNET_LEARNING_RATE = 1e-3  # mlnet-diffusion train's peak learning rate
UNET_EMA_DECAY = 0.999
SAMPLE_SCHEDULE_STEPS = 50  # UNetSampleBenchmark.ScheduleSteps
SAMPLE_RUN_STEPS = 5  # UNetSampleBenchmark.RunSteps


def flat(tensors):
    return torch.cat([t.detach().flatten() for t in tensors])


class UNetTrainBenchmark:
    """(c) One DdpmTrainer step of the UNet: see UNetTrainBenchmark.cs."""

    def __init__(self, config, batch):
        self.model = UNet2D(config)
        self.schedule = diffusion.NoiseSchedule()
        self.images = torch.rand(batch, config.in_channels, config.image_size, config.image_size) * 2 - 1
        self._reset()

    def _reset(self):
        self.model.train()
        self.generator = torch.Generator()
        self.generator.manual_seed(UNET_TRAIN_PROBE_SEED)
        self.trainer = diffusion.Trainer(self.model, self.schedule, learning_rate=UNET_LEARNING_RATE, weight_decay=0.0,
                                         clip=1.0, ema_decay=UNET_EMA_DECAY, generator=self.generator)

    def parameter_count(self):
        return parameter_count(self.model)

    def load(self, tensors):
        self.images = tensors.pop("images")
        self.model.load_state_dict(tensors, strict=True)
        self._reset()  # a fresh optimiser, and the EMA starting from the loaded weights, as on the driver's side

    def probe(self):
        torch.manual_seed(UNET_TRAIN_PROBE_SEED)
        self.generator.manual_seed(UNET_TRAIN_PROBE_SEED)
        loss = self.step()
        # The clipped gradient the step left on the parameters; zero where a parameter took no part (None).
        gradient = flat(p.grad if p.grad is not None else torch.zeros_like(p) for p in self.model.parameters())
        self.probe_tensors = {"gradient": gradient,
                              "weights": flat(self.model.parameters()),
                              "ema": flat(self.trainer.ema.shadow.values())}
        return [loss]

    def step(self):
        self.trainer.set_learning_rate(UNET_LEARNING_RATE)
        return self.trainer.step(self.images)


class UNetSampleBenchmark:
    """(d) One sampling step: the UNet's prediction under inference mode and one DDIM update (UNetSampleBenchmark.cs)."""

    def __init__(self, config, batch):
        self.model = UNet2D(config).eval()
        self.schedule = diffusion.NoiseSchedule()
        self.sampler = diffusion.DdimSampler(self.schedule)
        self.sampler.set_timesteps(SAMPLE_SCHEDULE_STEPS)
        self.timestep = self.sampler.timesteps[SAMPLE_SCHEDULE_STEPS // 2]
        self.x = torch.randn(batch, config.in_channels, config.image_size, config.image_size)
        self.timestep_batch = torch.full((batch,), self.timestep, dtype=torch.int64)
        self.timesteps = torch.randint(0, self.schedule.train_timesteps, (batch,))
        self.noise = None

    def parameter_count(self):
        return parameter_count(self.model)

    def load(self, tensors):
        self.x = tensors.pop("x")
        self.timesteps = tensors.pop("timesteps")
        self.noise = tensors.pop("noise")
        self.timestep_batch = torch.full((self.x.size(0),), self.timestep, dtype=torch.int64)
        self.model.load_state_dict(tensors, strict=True)
        self.model.eval()

    def probe(self):
        with torch.no_grad():
            forward = self.model(self.x, self.timesteps)
        self.probe_tensors = {
            "forward": forward,
            "ddim": diffusion.sample_loop(self.model, diffusion.DdimSampler(self.schedule), self.noise, SAMPLE_RUN_STEPS),
            "dpm": diffusion.sample_loop(self.model, diffusion.DpmSolverMultistepSampler(self.schedule), self.noise,
                                         SAMPLE_RUN_STEPS),
        }
        return [forward.abs().mean().item()]

    def step(self):
        with torch.inference_mode():
            self.sampler.step(self.model(self.x, self.timestep_batch), self.timestep, self.x)


class SampleRunBenchmark:
    """Whole DPM-Solver++(2M) runs of diffusion.sample_loop from the x_T the driver hands over (OnnxSampleBenchmark.cs)."""

    def __init__(self, config, batch, steps):
        self.model = UNet2D(config).eval()
        self.schedule = diffusion.NoiseSchedule()
        self.steps = steps
        self.noise = torch.randn(batch, config.in_channels, config.image_size, config.image_size)

    def parameter_count(self):
        return parameter_count(self.model)

    def load(self, tensors):
        self.noise = tensors.pop("noise")
        self.model.load_state_dict(tensors, strict=True)
        self.model.eval()

    def run(self, steps):
        # A fresh sampler per run, as SamplingLoop.Run and the ONNX graph start from a fresh multistep state.
        return diffusion.sample_loop(self.model, diffusion.DpmSolverMultistepSampler(self.schedule), self.noise, steps)

    def probe(self):
        x = self.run(self.steps)
        self.probe_tensors = {"x": x}
        return [x.abs().mean().item()]

    def step(self):
        self.run(self.steps)

    def profile(self, steps):
        """Self CPU time per operator over one run, summed over calls (ms), and the run's wall time."""
        start = time.perf_counter()
        with torch.autograd.profiler.profile() as prof:
            self.run(steps)
        total = (time.perf_counter() - start) * 1000.0
        ops = {e.key: [e.self_cpu_time_total / 1000.0, e.count] for e in prof.key_averages()}
        return {"total_ms": total, "ops": ops}


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


def status_kib(field):
    """A size from /proc/self/status, in KiB ("VmRSS:\t  123456 kB")."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise ValueError(f"/proc/self/status has no {field}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, required=True, help="intra-op threads (torch.set_num_threads)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--malloc", choices=["steady", "default"], default="default",
                        help="steady: fixed glibc mmap/trim thresholds, as the driver sets for itself")
    parser.add_argument("--preset", default="small", help="the UNet preset of the UNet workloads")
    parser.add_argument("--batch-size", type=int, default=64, help="images per UNet step")
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--sample-steps", type=int, default=10, help="steps of the sample-run probe")
    parser.add_argument("--workloads", default="conv,block,unet-train,unet-sample",
                        help="comma-separated workloads, built in this order (as the driver builds its own)")
    args = parser.parse_args()

    # Before the first tensor, as on the driver's side.
    malloc_steady = make_malloc_steady() if args.malloc == "steady" else False
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = UNetConfig.preset(args.preset, args.image_size, args.channels)
    factories = {
        "conv": ConvBenchmark,
        "block": BlockBenchmark,
        "unet-train": lambda: UNetTrainBenchmark(config, args.batch_size),
        "unet-sample": lambda: UNetSampleBenchmark(config, args.batch_size),
        "sample-run": lambda: SampleRunBenchmark(config, args.batch_size, args.sample_steps),
    }
    benchmarks = {name: factories[name]() for name in args.workloads.split(",")}
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
            if command == "sample-run" and len(words) > 2:
                iterations, steps = int(words[1]), int(words[2])
                run = benchmarks[command].run
                answer(timed(command, lambda: run(steps), iterations))
            elif command in benchmarks:
                iterations = int(words[1]) if len(words) > 1 else 1
                answer(timed(command, benchmarks[command].step, iterations))
            elif command == "profile" and "sample-run" in benchmarks:
                answer(benchmarks["sample-run"].profile(int(words[1])))
            elif command == "check":
                if len(words) != 3:
                    raise ValueError("check takes two paths: the driver's tensors and where to write the probes' tensors")
                answer(check(benchmarks, words[1], words[2]))
            elif command == "rss":
                # Linux reports ru_maxrss in KiB; VmRSS and VmHWM (the peak since the last reset) too.
                answer({"max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                        "rss_kib": status_kib("VmRSS"), "hwm_kib": status_kib("VmHWM")})
            elif command == "rss-reset":
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
                answer({"rss_kib": status_kib("VmRSS")})
            elif command == "quit":
                answer({"bye": True})
                return
            else:
                answer({"error": f"unknown command {command!r}"})
        except Exception as e:  # answer every command, so the driver never waits forever
            answer({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
