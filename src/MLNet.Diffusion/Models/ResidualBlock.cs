using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Models;

/// <summary>
/// DDPM's residual block: GroupNorm → SiLU → conv3×3, plus a projection of the timestep embedding, then
/// GroupNorm → SiLU → dropout → conv3×3 (zero-initialised, so the block starts as the identity), plus the
/// input (through a 1×1 conv when the channel count changes).
/// </summary>
internal sealed class ResidualBlock : nn.Module
{
    private readonly GroupNorm _norm1;
    private readonly Conv2d _conv1;
    private readonly Linear _timeProjection;
    private readonly GroupNorm _norm2;
    private readonly Dropout _dropout;
    private readonly Conv2d _conv2;
    private readonly Conv2d? _shortcut;

    /// <summary>Creates the block.</summary>
    public ResidualBlock(int inChannels, int outChannels, int embeddingChannels, double dropout, int groups)
        : base(nameof(ResidualBlock))
    {
        _norm1 = Layers.GroupNorm(groups, inChannels);
        register_module("norm1", _norm1);
        _conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        register_module("conv1", _conv1);
        _timeProjection = nn.Linear(embeddingChannels, outChannels);
        register_module("time_proj", _timeProjection);
        _norm2 = Layers.GroupNorm(groups, outChannels);
        register_module("norm2", _norm2);
        _dropout = nn.Dropout(dropout);
        register_module("dropout", _dropout);
        _conv2 = Layers.ZeroInit(nn.Conv2d(outChannels, outChannels, 3, padding: 1));
        register_module("conv2", _conv2);
        _shortcut = inChannels == outChannels ? null : nn.Conv2d(inChannels, outChannels, 1);
        if (_shortcut is not null)
        {
            register_module("shortcut", _shortcut);
        }
    }

    /// <summary>
    /// Nothing more to register: the constructor registered every layer under its PyTorch name. TorchSharp's default
    /// would register the fields again under their C# names when this block is added to a parent, and every weight
    /// would appear twice in the state dict.
    /// </summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>The block's output for <paramref name="x"/> [B, C, H, W] and the activated embedding [B, E].</summary>
    public Tensor Forward(Tensor x, Tensor embedding)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(embedding);
        using var projection = Project(embedding);
        return Forward(x, projection, batchInvariant: false);
    }

    /// <summary>The timestep embedding's projection to this block's channels: [N, E] → [N, out channels].</summary>
    internal Tensor Project(Tensor embedding) => _timeProjection.forward(embedding);

    /// <summary>The linear layer of <see cref="Project"/>: weight [out channels, E], bias [out channels].</summary>
    internal Linear TimeProjection => _timeProjection;

    /// <summary>
    /// The block's output for <paramref name="x"/> [B, C, H, W] and <see cref="Project"/>'s rows for it [B or 1, out channels];
    /// with <paramref name="batchInvariant"/>, through <see cref="BatchInvariant"/>'s convolutions and SiLU.
    /// </summary>
    internal Tensor Forward(Tensor x, Tensor projection, bool batchInvariant)
    {
        using var scope = torch.NewDisposeScope();
        Tensor Silu(Tensor t) => BatchInvariant.Silu(t, batchInvariant);
        // Each intermediate is freed as soon as it is consumed (see Eager).
        var h = _norm1.forward(x).ThenDispose(Silu).ThenDispose(t => BatchInvariant.Conv2d(_conv1, t, batchInvariant));
        using (var broadcast = projection.unsqueeze(-1).unsqueeze(-1))
        {
            h = h.ThenDispose(t => t + broadcast);
        }

        h = h.ThenDispose(_norm2.forward).ThenDispose(Silu).ThenDispose(_dropout.forward).ThenDispose(t => BatchInvariant.Conv2d(_conv2, t, batchInvariant));
        var skip = _shortcut is null ? x : BatchInvariant.Conv2d(_shortcut, x, batchInvariant);
        return scope.MoveToOuter(h.ThenDispose(t => skip + t));
    }
}
