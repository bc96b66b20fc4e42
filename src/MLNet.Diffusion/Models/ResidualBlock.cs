using MLNet.Diffusion.Torch;
using MLNet.Diffusion.Torch.Nn;

namespace MLNet.Diffusion.Models;

/// <summary>
/// DDPM's residual block: GroupNorm → SiLU → conv3×3, plus a projection of the timestep embedding, then
/// GroupNorm → SiLU → dropout → conv3×3 (zero-initialised, so the block starts as the identity), plus the
/// input (through a 1×1 conv when the channel count changes).
/// </summary>
public sealed class ResidualBlock : Module
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
    {
        _norm1 = RegisterModule("norm1", new GroupNorm(groups, inChannels));
        _conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, 3, padding: 1));
        _timeProjection = RegisterModule("time_proj", new Linear(embeddingChannels, outChannels));
        _norm2 = RegisterModule("norm2", new GroupNorm(groups, outChannels));
        _dropout = RegisterModule("dropout", new Dropout(dropout));
        _conv2 = RegisterModule("conv2", ZeroInit(new Conv2d(outChannels, outChannels, 3, padding: 1)));
        _shortcut = inChannels == outChannels ? null : RegisterModule("shortcut", new Conv2d(inChannels, outChannels, 1));
    }

    /// <summary>The block's output for <paramref name="x"/> [B, C, H, W] and the activated embedding [B, E].</summary>
    public Tensor Forward(Tensor x, Tensor embedding)
    {
        using var scope = LibTorch.NewDisposeScope();
        // Each intermediate is freed as soon as it is consumed (see Eager).
        var h = _norm1.Forward(x).Then(Functional.Silu).Then(_conv1.Forward);
        using (var projection = _timeProjection.Forward(embedding).Unsqueeze(-1).Unsqueeze(-1))
        {
            h = h.Then(t => t + projection);
        }

        h = h.Then(_norm2.Forward).Then(Functional.Silu).Then(_dropout.Forward).Then(_conv2.Forward);
        var skip = _shortcut is null ? x : _shortcut.Forward(x);
        return scope.MoveToOuter(h.Then(t => skip + t));
    }

    /// <summary>Sets a conv's weight and bias to zero (DDPM's init_scale = 0) and returns it.</summary>
    internal static Conv2d ZeroInit(Conv2d conv)
    {
        using var noGrad = Autograd.NoGrad();
        conv.Weight.ZeroInPlace();
        conv.Bias?.ZeroInPlace();
        return conv;
    }
}
