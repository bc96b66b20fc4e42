using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Models;

/// <summary>
/// DDPM's residual block: GroupNorm → SiLU → conv3×3, plus a projection of the timestep embedding, then
/// GroupNorm → SiLU → dropout → conv3×3 (zero-initialised, so the block starts as the identity), plus the
/// input (through a 1×1 conv when the channel count changes).
/// </summary>
public sealed class ResidualBlock : nn.Module
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
        using var scope = torch.NewDisposeScope();
        // Each intermediate is freed as soon as it is consumed (see Eager).
        var h = _norm1.forward(x).Then(t => nn.functional.silu(t)).Then(_conv1.forward);
        using (var projection = _timeProjection.forward(embedding).unsqueeze(-1).unsqueeze(-1))
        {
            h = h.Then(t => t + projection);
        }

        h = h.Then(_norm2.forward).Then(t => nn.functional.silu(t)).Then(_dropout.forward).Then(_conv2.forward);
        var skip = _shortcut is null ? x : _shortcut.forward(x);
        return scope.MoveToOuter(h.Then(t => skip + t));
    }
}
