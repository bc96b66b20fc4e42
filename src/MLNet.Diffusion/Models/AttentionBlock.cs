using MLNet.Diffusion.Torch;
using MLNet.Diffusion.Torch.Nn;

namespace MLNet.Diffusion.Models;

/// <summary>
/// Self-attention over the pixels of a feature map: GroupNorm, a 1×1 conv to queries, keys and values,
/// softmax(q·kᵀ/√d)·v per head, a zero-initialised 1×1 output projection, plus the input.
/// </summary>
public sealed class AttentionBlock : Module
{
    private readonly int _heads;
    private readonly GroupNorm _norm;
    private readonly Conv2d _qkv;
    private readonly Conv2d _projection;

    /// <summary>Creates the block.</summary>
    public AttentionBlock(int channels, int heads, int groups)
    {
        _heads = heads;
        _norm = RegisterModule("norm", new GroupNorm(groups, channels));
        _qkv = RegisterModule("qkv", new Conv2d(channels, 3 * channels, 1));
        _projection = RegisterModule("proj", ResidualBlock.ZeroInit(new Conv2d(channels, channels, 1)));
    }

    /// <summary>The block's output for <paramref name="x"/> [B, C, H, W].</summary>
    public Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = LibTorch.NewDisposeScope();
        var shape = x.Shape;
        var (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3]);
        var qkv = _norm.Forward(x).Then(_qkv.Forward).Then(t => t.Reshape(batch, 3, _heads, channels / _heads, height * width));
        // [B, heads, HW, d] for each of q, k, v.
        var q = qkv.Select(1, 0).Transpose(-1, -2);
        var k = qkv.Select(1, 1).Transpose(-1, -2);
        var v = qkv.Select(1, 2).Transpose(-1, -2);
        var attended = Functional.ScaledDotProductAttention(q, k, v).Then(t => t.Transpose(-1, -2)).Then(t => t.Reshape(batch, channels, height, width));
        return scope.MoveToOuter(attended.Then(_projection.Forward).Then(t => x + t));
    }
}
