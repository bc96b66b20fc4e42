"""The MLNet.Diffusion UNet2D in PyTorch: the reference for the side-by-side benchmark and the quality table.

It mirrors src/MLNet.Diffusion/Models (UNet2D.cs, ResidualBlock.cs, AttentionBlock.cs, UNetConfig.cs) module for
module, so that:

- the state-dict keys are our safetensors names (``down.0.conv1.weight``, ...) and ``load_state_dict(strict=True)``
  takes the weights our library writes, and the other way round;
- the parameter count is the same for every preset;
- the modules are built in the same order with the same initialisation (PyTorch's defaults, which our Nn layers
  reproduce, then zeros for the last conv of each residual block, the attention projection and the output conv),
  so after ``torch.manual_seed(s)`` the initial weights equal those of ``torch.random.manual_seed(s); new UNet2D(config)``
  in TorchSharp;
- the forward pass composes the same operations in the same order (sinusoidal embedding, GroupNorm/SiLU/conv,
  attention, nearest upsampling). Our side runs TorchSharp's libtorch 2.10, this one usually Debian's 1.13, so the
  two agree to float32 rounding rather than bit for bit.

Runs on Debian's python3-torch (1.13) and on newer PyTorch.
"""

import math
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

PRESET_NAMES = ("tiny", "small", "ddpm-cifar10")


@dataclass(frozen=True)
class UNetConfig:
    """UNetConfig.cs: every default is DDPM's CIFAR-10 model apart from the image and channel counts."""

    image_size: int = 32
    in_channels: int = 3
    out_channels: int = 3
    base_channels: int = 128
    channel_multipliers: tuple = (1, 2, 2, 2)
    res_blocks_per_level: int = 2
    attention_resolutions: tuple = (16,)
    attention_heads: int = 1
    dropout: float = 0.1
    group_norm_groups: int = 32
    num_classes: int = None

    @staticmethod
    def preset(name, image_size=32, channels=3, num_classes=None):
        """UNetConfig.Preset: tiny (tests), small (28-32 px on a CPU), ddpm-cifar10 (the paper's model)."""
        name = name.lower()
        if name == "tiny":
            config = UNetConfig(base_channels=16, channel_multipliers=(1, 2), res_blocks_per_level=1,
                                attention_resolutions=(image_size // 2,), dropout=0.0, group_norm_groups=8)
        elif name == "small":
            config = UNetConfig(base_channels=32, channel_multipliers=(1, 2, 2), res_blocks_per_level=2,
                                attention_resolutions=(image_size // 4,), attention_heads=4, dropout=0.1,
                                group_norm_groups=8)
        elif name == "ddpm-cifar10":
            config = UNetConfig()
        else:
            raise ValueError(f"unknown model preset '{name}'; accepted: {', '.join(PRESET_NAMES)}")
        return replace(config, image_size=image_size, in_channels=channels, out_channels=channels,
                       num_classes=num_classes)

    def to_manifest(self):
        """The JSON object our model manifest stores under "Model" (System.Text.Json, PascalCase)."""
        return {
            "ImageSize": self.image_size,
            "InChannels": self.in_channels,
            "OutChannels": self.out_channels,
            "BaseChannels": self.base_channels,
            "ChannelMultipliers": list(self.channel_multipliers),
            "ResBlocksPerLevel": self.res_blocks_per_level,
            "AttentionResolutions": list(self.attention_resolutions),
            "AttentionHeads": self.attention_heads,
            "Dropout": self.dropout,
            "GroupNormGroups": self.group_norm_groups,
            "NumClasses": self.num_classes,
        }


def zero_init(conv):
    """DDPM's init_scale = 0: the conv starts at zero (after its default initialisation drew its random numbers)."""
    with torch.no_grad():
        conv.weight.zero_()
        if conv.bias is not None:
            conv.bias.zero_()
    return conv


def attention(q, k, v):
    """softmax(q kᵀ / √d) v: F.scaled_dot_product_attention where torch has it (≥ 2.0, the fused kernel our side
    calls through TorchSharp), else composed as matmul, then the scale, then softmax, then matmul (torch 1.13); the two
    agree to float32 rounding."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
    return torch.matmul(torch.softmax(scores, -1), v)


class ResidualBlock(nn.Module):
    """ResidualBlock.cs: GroupNorm, SiLU, conv3x3, + time projection; GroupNorm, SiLU, dropout, zero conv3x3; + skip."""

    def __init__(self, in_channels, out_channels, embedding_channels, dropout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_proj = nn.Linear(embedding_channels, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_init(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.shortcut = None if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x, embedding):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(embedding).unsqueeze(-1).unsqueeze(-1)
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        skip = x if self.shortcut is None else self.shortcut(x)
        return skip + h


class AttentionBlock(nn.Module):
    """AttentionBlock.cs: GroupNorm, 1x1 conv to q, k, v, attention per head, zero-initialised 1x1 projection, + x."""

    def __init__(self, channels, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = zero_init(nn.Conv2d(channels, channels, 1))

    def forward(self, x):
        b, c, height, width = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, height * width)
        # [B, heads, HW, d] for each of q, k, v.
        q = qkv.select(1, 0).transpose(-1, -2)
        k = qkv.select(1, 1).transpose(-1, -2)
        v = qkv.select(1, 2).transpose(-1, -2)
        attended = attention(q, k, v).transpose(-1, -2).reshape(b, c, height, width)
        return x + self.proj(attended)


def timestep_embedding(timesteps, dimension):
    """UNet2D.TimestepEmbedding: for i < d/2, sin(t·10000^(−i/(d/2−1))) then the matching cosines (float32)."""
    half = dimension // 2
    frequencies = (torch.arange(half, dtype=torch.float32, device=timesteps.device)
                   * (-math.log(10000) / max(half - 1, 1))).exp()
    arguments = timesteps.to(torch.float32).unsqueeze(1) * frequencies.unsqueeze(0)
    embedding = torch.cat([arguments.sin(), arguments.cos()], 1)
    if dimension % 2 == 1:
        embedding = torch.cat([embedding, torch.zeros(embedding.size(0), 1, device=embedding.device)], 1)
    return embedding


class UNet2D(nn.Module):
    """UNet2D.cs: the DDPM U-Net, optionally class-conditional (a label embedding added to the time embedding)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        ch = config.base_channels
        embedding = 4 * ch
        groups = config.group_norm_groups
        # Registration (and so initialisation) order follows UNet2D.cs exactly.
        self.time_in = nn.Linear(ch, embedding)
        self.time_out = nn.Linear(embedding, embedding)
        self.class_embedding = None
        if config.num_classes is not None:
            self.class_embedding = nn.Embedding(config.num_classes + 1, embedding)
        self.conv_in = nn.Conv2d(config.in_channels, ch, 3, padding=1)

        levels = len(config.channel_multipliers)
        skip_channels = [ch]
        current = ch
        self.down = nn.ModuleList()
        # For the forward pass: (block index, attention index or None) per residual block, and per level the
        # index of its downsampler or None; indices point into self.down / self.up.
        self._down_plan = []
        self._downsamplers = []
        for level in range(levels):
            out_channels = ch * config.channel_multipliers[level]
            attend = (config.image_size >> level) in config.attention_resolutions
            for _ in range(config.res_blocks_per_level):
                block = ResidualBlock(current, out_channels, embedding, config.dropout, groups)
                self._down_plan.append(self._add_block(self.down, block, attend))
                current = out_channels
                skip_channels.append(current)
            downsample = None
            if level != levels - 1:
                self.down.append(nn.Conv2d(current, current, 3, stride=2, padding=1))
                downsample = len(self.down) - 1
                skip_channels.append(current)
            self._downsamplers.append(downsample)

        self.mid_block1 = ResidualBlock(current, current, embedding, config.dropout, groups)
        self.mid_attention = AttentionBlock(current, config.attention_heads, groups)
        self.mid_block2 = ResidualBlock(current, current, embedding, config.dropout, groups)

        self.up = nn.ModuleList()
        self._up_plan = []
        self._upsamplers = []
        for level in reversed(range(levels)):
            out_channels = ch * config.channel_multipliers[level]
            attend = (config.image_size >> level) in config.attention_resolutions
            for _ in range(config.res_blocks_per_level + 1):
                block = ResidualBlock(current + skip_channels.pop(), out_channels, embedding, config.dropout, groups)
                self._up_plan.append(self._add_block(self.up, block, attend))
                current = out_channels
            upsample = None
            if level != 0:
                self.up.append(nn.Conv2d(current, current, 3, padding=1))
                upsample = len(self.up) - 1
            self._upsamplers.append(upsample)

        self.norm_out = nn.GroupNorm(groups, current)
        self.conv_out = zero_init(nn.Conv2d(current, config.out_channels, 3, padding=1))

    def _add_block(self, modules, block, attend):
        """Appends a residual block, and an attention block after it where the level attends (the attention block is
        built after the residual block, as in UNet2D.cs); returns their indices in modules (None: no attention)."""
        modules.append(block)
        index = len(modules) - 1
        if not attend:
            return index, None
        modules.append(AttentionBlock(block.conv1.out_channels, self.config.attention_heads,
                                      self.config.group_norm_groups))
        return index, len(modules) - 1

    @property
    def null_label(self):
        return self.config.num_classes

    def forward(self, x, timesteps, labels=None):
        config = self.config
        embedding = self.time_out(F.silu(self.time_in(timestep_embedding(timesteps, config.base_channels))))
        if self.class_embedding is not None:
            if labels is None:
                labels = torch.full((x.size(0),), config.num_classes, dtype=torch.int64, device=x.device)
            embedding = embedding + self.class_embedding(labels)
        elif labels is not None:
            raise ValueError("this model is unconditional; it takes no labels")
        activated = F.silu(embedding)

        h = self.conv_in(x)
        skips = [h]
        per_level = config.res_blocks_per_level
        for i, (block, attention_index) in enumerate(self._down_plan):
            h = self.down[block](h, activated)
            if attention_index is not None:
                h = self.down[attention_index](h)
            skips.append(h)
            downsample = self._downsamplers[i // per_level]
            if (i + 1) % per_level == 0 and downsample is not None:
                h = self.down[downsample](h)
                skips.append(h)

        h = self.mid_block2(self.mid_attention(self.mid_block1(h, activated)), activated)
        for i, (block, attention_index) in enumerate(self._up_plan):
            h = self.up[block](torch.cat([h, skips.pop()], 1), activated)
            if attention_index is not None:
                h = self.up[attention_index](h)
            upsample = self._upsamplers[i // (per_level + 1)]
            if (i + 1) % (per_level + 1) == 0 and upsample is not None:
                h = self.up[upsample](F.interpolate(h, size=(h.size(2) * 2, h.size(3) * 2), mode="nearest"))

        return self.conv_out(F.silu(self.norm_out(h)))


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())
