using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// A UNet-sized block: h = conv3x3(silu(group_norm(x))) + x, then multi-head self-attention over the H·W positions
/// of h with a 1×1 output projection and a residual. Mirrors <c>AttentionBlock</c> in torch_bench.py.
/// </summary>
internal sealed class AttentionBlock : Module<Tensor, Tensor>
{
    private readonly long _heads;
    private readonly GroupNorm _norm1;
    private readonly Conv2d _conv1;
    private readonly GroupNorm _normAttn;
    private readonly Conv2d _qkv;
    private readonly Conv2d _proj;

    public AttentionBlock(long channels, long groups, long heads)
    {
        if (channels % heads != 0)
        {
            throw new ArgumentException($"{channels} channels cannot be split into {heads} heads.", nameof(heads));
        }

        _heads = heads;
        _norm1 = RegisterModule("norm1", new GroupNorm(groups, channels));
        _conv1 = RegisterModule("conv1", new Conv2d(channels, channels, 3, padding: 1));
        _normAttn = RegisterModule("norm_attn", new GroupNorm(groups, channels));
        _qkv = RegisterModule("qkv", new Conv2d(channels, 3 * channels, 1));
        _proj = RegisterModule("proj", new Conv2d(channels, channels, 1));
    }

    /// <summary>Runs the block; intermediates belong to the caller's dispose scope.</summary>
    public override Tensor Forward(Tensor input)
    {
        var h = _conv1.Forward(nn.functional.silu(_norm1.Forward(input))) + input;
        var shape = h.shape;
        var (b, c, height, width) = (shape[0], shape[1], shape[2], shape[3]);
        var d = c / _heads;
        var qkv = _qkv.Forward(_normAttn.Forward(h)).chunk(3, dim: 1);

        // [B, C, H, W] -> [B, heads, d, HW] -> [B, heads, HW, d]
        Tensor ToHeads(Tensor t) => t.reshape(b, _heads, d, height * width).transpose(-2, -1);

        // On libtorch 1.13 the shim composes matmul · scale, softmax, matmul (src/Native/src/nn.cpp).
        var attention = nn.functional.scaled_dot_product_attention(ToHeads(qkv[0]), ToHeads(qkv[1]), ToHeads(qkv[2]));

        // [B, heads, HW, d] -> [B, heads, d, HW] -> [B, C, H, W]
        var merged = attention.transpose(-2, -1).reshape(b, c, height, width);
        return _proj.Forward(merged) + h;
    }
}
