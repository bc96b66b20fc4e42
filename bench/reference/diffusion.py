"""MLNet.Diffusion's training step and samplers in PyTorch, operation for operation.

Mirrors src/MLNet.Diffusion/Schedulers (NoiseSchedule, DiffusionObjective, Parameterization, DdimSampler,
DpmSolverMultistepSampler, DiffusionSampler.Spaced, SamplingLoop) and src/MLNet.Diffusion/Training/DdpmTrainer.cs
(timestep and noise sampling, the MSE loss, gradient clipping, AdamW, the EMA with warm-up, the learning-rate
schedule, the data order), and reads and writes our files: safetensors and the model zip of docs/model-format.md.

Schedule tables are computed in Python floats (IEEE doubles), like our managed code, and converted to float32 at the
same point (after the per-sample lookup).
"""

import io
import json
import math
import os
import struct
import tempfile
import zipfile

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------------
# Noise schedule (NoiseSchedule.cs, BetaSchedules.cs): only the linear schedule, the one our CLI trains with by
# default, and the cosine one.


def linspace(start, end, count):
    return [start if count == 1 else start + (end - start) * i / (count - 1) for i in range(count)]


def betas_for(kind="linear", timesteps=1000):
    scale = 1000.0 / timesteps
    if kind == "linear":
        return linspace(1e-4 * scale, 0.02 * scale, timesteps)
    if kind == "cosine":
        def f(t):
            return math.cos((t / timesteps + 0.008) / 1.008 * math.pi / 2) ** 2
        return [min(1 - f(i + 1) / f(i), 0.999) for i in range(timesteps)]
    raise ValueError(f"schedule '{kind}' is not mirrored here; accepted: linear, cosine")


class NoiseSchedule:
    def __init__(self, kind="linear", timesteps=1000):
        self.kind = kind
        self.betas = betas_for(kind, timesteps)
        self.alpha_bar = []
        product = 1.0
        for beta in self.betas:
            product *= 1 - beta
            self.alpha_bar.append(product)
        self.sqrt_alpha_bar = [math.sqrt(a) for a in self.alpha_bar]
        self.sqrt_one_minus_alpha_bar = [math.sqrt(1 - a) for a in self.alpha_bar]

    @property
    def train_timesteps(self):
        return len(self.betas)

    def alpha_bar_at(self, t):
        return 1.0 if t == -1 else self.alpha_bar[t]

    def per_sample(self, table, timesteps, like):
        """NoiseSchedule.PerSample: table[t] per sample, as like's dtype, shaped [B, 1, 1, ...]."""
        values = torch.tensor(table, dtype=torch.float64, device=like.device).index_select(0, timesteps).to(like.dtype)
        return values.reshape([timesteps.size(0)] + [1] * (like.dim() - 1))

    def to_manifest(self):
        return {"Kind": {"linear": "Linear", "cosine": "Cosine"}[self.kind], "TrainTimesteps": self.train_timesteps,
                "BetaStart": None, "BetaEnd": None, "CosineOffset": 0.008, "MaxBeta": 0.999, "Betas": None,
                "RescaleZeroTerminalSnr": False}


# ---------------------------------------------------------------------------------------------------------------
# Training objective (DiffusionObjective.cs, Parameterization.cs) with uniform weighting.

PREDICTION_TYPES = {"epsilon": "Epsilon", "sample": "Sample", "v": "VPrediction"}


def prepare(schedule, prediction, original, noise, timesteps):
    """DiffusionObjective.Prepare: x_t = √ᾱ x₀ + √(1−ᾱ) ε (Ho et al. 2020, eq. 4) and the regression target."""
    a = schedule.per_sample(schedule.sqrt_alpha_bar, timesteps, original)
    b = schedule.per_sample(schedule.sqrt_one_minus_alpha_bar, timesteps, original)
    noisy = original * a + noise * b
    if prediction == "epsilon":
        target = noise.clone()
    elif prediction == "sample":
        target = original.clone()
    elif prediction == "v":
        target = noise * a - original * b
    else:
        raise ValueError(f"unknown prediction type '{prediction}'")
    return noisy, target


def loss_of(model_output, target):
    """DiffusionObjective.Loss, uniform weighting: per-sample mean of squared errors, then the batch mean."""
    return F.mse_loss(model_output, target, reduction="none").flatten(1).mean(1).mean()


def learning_rate_at(step, total_steps, peak, warmup_steps, cosine):
    """DdpmTrainer.LearningRateAt: linear warm-up, then constant or cosine decay to 0."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    if not cosine or total_steps <= warmup_steps:
        return peak
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


class Ema:
    """ExponentialMovingAverage.cs: a copy of the state dict, ema ← ema + (1 − decay)(param − ema) (an in-place lerp)."""

    def __init__(self, model):
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model, decay):
        for name, value in model.state_dict().items():
            if self.shadow[name].is_floating_point():
                self.shadow[name].lerp_(value.detach(), 1.0 - decay)
            else:
                self.shadow[name].copy_(value)


def ema_decay_at(step, decay, warmup=True):
    """DdpmTrainer: after optimiser step number `step` (1-based), decay = min(decay, (1 + step)/(10 + step))."""
    return min(decay, (1.0 + step) / (10.0 + step)) if warmup else decay


class Trainer:
    """One DdpmTrainer optimiser step (without gradient accumulation): sample t and ε from the run's generator,
    noise the batch, predict, MSE, backward, clip the global gradient norm, AdamW, then the EMA update."""

    def __init__(self, model, schedule, prediction="epsilon", learning_rate=2e-4, weight_decay=0.0, clip=1.0,
                 ema_decay=0.9999, ema_warmup=True, label_dropout=0.1, generator=None):
        self.model = model
        self.schedule = schedule
        self.prediction = prediction
        self.clip = clip
        self.ema_decay = ema_decay
        self.ema_warmup = ema_warmup
        self.label_dropout = label_dropout
        self.generator = generator
        # torch.optim.AdamW's single-tensor path: the update TorchSharp's AdamW performs (ours, with the same settings).
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=weight_decay)
        self.ema = Ema(model)
        self.step_count = 0

    def set_learning_rate(self, rate):
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def step(self, images, labels=None):
        model = self.model
        batch = images.size(0)
        self.optimizer.zero_grad(set_to_none=True)
        t = torch.randint(0, self.schedule.train_timesteps, (batch,), generator=self.generator)
        noise = torch.randn(images.shape, generator=self.generator)
        conditioning = None
        if model.class_embedding is not None:
            dropped = torch.rand((batch,), generator=self.generator) < self.label_dropout
            conditioning = torch.where(dropped, torch.full_like(labels, model.null_label), labels)
        noisy, target = prepare(self.schedule, self.prediction, images, noise, t)
        loss = loss_of(model(noisy, t, conditioning).to(torch.float32), target)
        loss.backward()
        total = loss.item()
        if math.isfinite(total):
            if self.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            self.optimizer.step()
        self.step_count += 1
        self.ema.update(model, ema_decay_at(self.step_count, self.ema_decay, self.ema_warmup))
        return total


class DataOrder:
    """DdpmTrainer.NextIndices: a fresh permutation per pass from a generator seeded (seed + φ·(pass + 1)) mod 2⁶⁴."""

    def __init__(self, count, seed):
        self.count = count
        self.seed = seed
        self.epoch = 0
        self.position = 0
        self.order = None

    def next(self, size):
        result = []
        for _ in range(size):
            if self.position == self.count:
                self.epoch += 1
                self.position = 0
                self.order = None
            if self.order is None:
                g = torch.Generator()
                g.manual_seed((self.seed + 0x9E3779B97F4A7C15 * (self.epoch + 1)) % (1 << 64))
                self.order = torch.randperm(self.count, generator=g).tolist()
            result.append(self.order[self.position])
            self.position += 1
        return result


def train_generator(seed):
    """The generator DdpmTrainer draws timesteps, noise and label dropout from: seed XOR 0x5DEECE66D."""
    g = torch.Generator()
    g.manual_seed(seed ^ 0x5DEECE66D)
    return g


# ---------------------------------------------------------------------------------------------------------------
# Samplers (DiffusionSampler.cs, DdimSampler.cs, DpmSolverMultistepSampler.cs), ε prediction and clipping as our
# defaults (SamplerOptions: ClipSample true, ClipRange 1).


def spaced(schedule, steps, spacing):
    """DiffusionSampler.Spaced: the sampling timesteps, highest first."""
    T = schedule.train_timesteps
    if spacing == "trailing":
        # Python's round() rounds half to even, as .NET's Math.Round does.
        result = [int(round(T - i * T / steps)) - 1 for i in range(steps)]
    elif spacing == "leading":
        result = [(steps - 1 - i) * (T // steps) for i in range(steps)]
    elif spacing == "linspace":
        result = [int(round((T - 1) * (steps - 1 - i) / max(steps - 1, 1))) for i in range(steps)]
    elif spacing == "logsnr":
        result = _log_snr_spaced(schedule, steps)
    elif spacing == "tapered":
        result = _distinct([int(round((T - 1) * ((steps - i) / steps) ** 1.5)) for i in range(steps)])
    else:
        raise ValueError(f"unknown spacing '{spacing}'")
    if len(set(result)) != steps:
        raise ValueError(f"{steps} steps with {spacing} spacing repeat a timestep")
    return result


def _lambda(alpha_bar):
    return 0.5 * (math.log(alpha_bar) - math.log(1 - alpha_bar))


def _log_snr_spaced(schedule, steps):
    last = schedule.train_timesteps - 1
    lam = [_lambda(a) if a > 0 else -math.inf for a in schedule.alpha_bar]
    zero_snr = lam[last] == -math.inf
    low, high = lam[last - 1 if zero_snr else last], lam[0]
    result = []
    for i in range(steps):
        target = low if steps == 1 else low + (high - low) * i / (steps - 1)
        best = 0
        for t in range(1, last + 1):
            if abs(lam[t] - target) < abs(lam[best] - target):
                best = t
        result.append(best)
    if zero_snr:
        result[0] = last
    return _distinct(result)


def _distinct(result):
    """DiffusionSampler.MakeDistinct: strictly decreasing, then the tail lifted back to ≥ 0."""
    steps = len(result)
    for i in range(1, steps):
        result[i] = min(result[i], result[i - 1] - 1)
    for i in reversed(range(steps)):
        result[i] = max(result[i], 0 if i == steps - 1 else result[i + 1] + 1)
    return result


def predict_sample(model_output, sample, alpha_bar, clip=True):
    """Parameterization.ToSample for ε, then the clip to [−1, 1]."""
    a, b = math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar)
    x0 = (sample - model_output * b) / a
    return x0.clamp(-1.0, 1.0) if clip else x0


class _Sampler:
    """DiffusionSampler.cs: the run's timesteps and the one after a given timestep (−1 after the last)."""

    default_spacing = "trailing"

    def __init__(self, schedule, clip=True):
        self.schedule = schedule
        self.clip = clip
        self.timesteps = []

    def set_timesteps(self, steps, spacing=None):
        self.timesteps = spaced(self.schedule, steps, spacing or self.default_spacing)

    def previous_timestep(self, timestep):
        position = self.timesteps.index(timestep)
        return self.timesteps[position + 1] if position + 1 < len(self.timesteps) else -1


class DdimSampler(_Sampler):
    """DDIM with η = 0 (Song et al. 2021, eq. 12), trailing spacing by default."""

    def step(self, model_output, timestep, sample):
        previous = self.previous_timestep(timestep)
        alpha_bar, alpha_bar_previous = self.schedule.alpha_bar_at(timestep), self.schedule.alpha_bar_at(previous)
        x0 = predict_sample(model_output, sample, alpha_bar, self.clip)
        if self.clip:
            # The ε that goes with the clipped x̂₀ (Parameterization.EpsilonFromSample).
            epsilon = (sample - x0 * math.sqrt(alpha_bar)) / math.sqrt(1 - alpha_bar)
        else:
            epsilon = model_output.clone()
        direction = math.sqrt(max(1 - alpha_bar_previous, 0))
        return x0 * math.sqrt(alpha_bar_previous) + epsilon * direction


class DpmSolverMultistepSampler(_Sampler):
    """DPM-Solver++(2M) (Lu et al. 2022), data prediction, tapered spacing by default."""

    default_spacing = "tapered"

    def __init__(self, schedule, clip=True):
        super().__init__(schedule, clip)
        self._previous_sample = None
        self._previous_lambda = 0.0

    def set_timesteps(self, steps, spacing=None):
        super().set_timesteps(steps, spacing)
        self._previous_sample = None

    def step(self, model_output, timestep, sample):
        previous = self.previous_timestep(timestep)
        alpha_bar = self.schedule.alpha_bar_at(timestep)
        lam = _lambda(alpha_bar)
        x0 = predict_sample(model_output, sample, alpha_bar, self.clip)
        if previous < 0:
            result = x0.clone()
        else:
            alpha_bar_next = self.schedule.alpha_bar_at(previous)
            alpha_next, sigma_next = math.sqrt(alpha_bar_next), math.sqrt(1 - alpha_bar_next)
            h = _lambda(alpha_bar_next) - lam
            data = x0
            if self._previous_sample is not None:
                r = (lam - self._previous_lambda) / h
                data = x0 + (x0 - self._previous_sample) * (1 / (2 * r))
            result = sample * (sigma_next / math.sqrt(1 - alpha_bar)) - data * (alpha_next * math.expm1(-h))
        self._previous_sample = x0
        self._previous_lambda = lam
        return result


def sample_loop(model, sampler, x, steps, labels=None):
    """SamplingLoop.Run from given initial noise x (deterministic samplers only); returns x₀, not yet clamped."""
    sampler.set_timesteps(steps)
    with torch.no_grad():
        for t in sampler.timesteps:
            timesteps = torch.full((x.size(0),), t, dtype=torch.int64, device=x.device)
            x = sampler.step(model(x, timesteps, labels), t, x)
    return x


# ---------------------------------------------------------------------------------------------------------------
# Files: safetensors (float32, int64) and the model zip of docs/model-format.md.

_DTYPES = {"F32": (torch.float32, 4), "I64": (torch.int64, 8)}
_NAMES = {torch.float32: "F32", torch.int64: "I64"}


def load_safetensors(path_or_bytes):
    """Tensors from a safetensors file (8-byte little-endian header length, JSON header, raw little-endian data).

    python3-torch 1.13 has no safetensors package, and the format is simple enough to read directly."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        data = path_or_bytes
    else:
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_length])
    base = 8 + header_length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{name}: dtype {info['dtype']} is not one of {', '.join(_DTYPES)}")
        dtype, _ = _DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        raw = bytearray(data[base + start:base + end])  # writable, so torch.frombuffer does not warn
        tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = tensor.reshape(info["shape"])
    return tensors


def safetensors_bytes(tensors, metadata=None):
    """A safetensors file's bytes: tensors in the given order, each contiguous little-endian on the CPU."""
    header = {}
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        tensor = tensor.detach().to("cpu").contiguous()
        if tensor.dtype not in _NAMES:
            raise ValueError(f"{name}: dtype {tensor.dtype} cannot be written; use float32 or int64")
        raw = tensor.numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": _NAMES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # align the data to 8 bytes, as the format recommends
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_safetensors(path, tensors, metadata=None):
    _atomic_write(path, safetensors_bytes(tensors, metadata))


def save_model_zip(path, config, schedule, prediction, ema_state, raw_state, training=None):
    """Writes our model format (docs/model-format.md): manifest.json, ema.safetensors, model.safetensors.

    Written to a temporary file in the target's folder and renamed over the target when complete."""
    manifest = {
        "Format": "mlnet-diffusion-model",
        "FormatVersion": 1,
        "LibraryVersion": "pytorch-reference " + torch.__version__,
        "Model": config.to_manifest(),
        "Schedule": schedule.to_manifest(),
        "PredictionType": PREDICTION_TYPES[prediction],
        "Preprocessing": {"ImageSize": config.image_size, "Channels": config.in_channels, "RangeMin": -1.0,
                          "RangeMax": 1.0},
        "Training": training,
        "Weights": "ema.safetensors",
        "RawWeights": "model.safetensors" if raw_state is not None else None,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("ema.safetensors", safetensors_bytes(ema_state))
        if raw_state is not None:
            archive.writestr("model.safetensors", safetensors_bytes(raw_state))
    _atomic_write(path, buffer.getvalue())


def _atomic_write(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
