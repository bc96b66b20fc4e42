using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// A UNet-sized block: h = conv3x3(silu(group_norm(x))) + x, then multi-head self-attention over the H·W positions
/// of h with a 1×1 output projection and a residual. Mirrors <c>AttentionBlock</c> in torch_bench.py.
/// </summary>
internal sealed class AttentionBlock : nn.Module<Tensor, Tensor>
{
    private readonly long _heads;
    private readonly GroupNorm _norm1;
    private readonly Conv2d _conv1;
    private readonly GroupNorm _normAttn;
    private readonly Conv2d _qkv;
    private readonly Conv2d _proj;

    public AttentionBlock(long channels, long groups, long heads)
        : base(nameof(AttentionBlock))
    {
        if (channels % heads != 0)
        {
            throw new ArgumentException($"{channels} channels cannot be split into {heads} heads.", nameof(heads));
        }

        _heads = heads;
        _norm1 = Models.Layers.GroupNorm(groups, channels);
        register_module("norm1", _norm1);
        _conv1 = nn.Conv2d(channels, channels, 3, padding: 1);
        register_module("conv1", _conv1);
        _normAttn = Models.Layers.GroupNorm(groups, channels);
        register_module("norm_attn", _normAttn);
        _qkv = nn.Conv2d(channels, 3 * channels, 1);
        register_module("qkv", _qkv);
        _proj = nn.Conv2d(channels, channels, 1);
        register_module("proj", _proj);
    }

    /// <summary>
    /// Nothing more to register: the constructor registered every layer under its PyTorch name. TorchSharp's default
    /// would register the fields again under their C# names when this block is added to a parent, and every weight
    /// would appear twice in the state dict.
    /// </summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>Runs the block; intermediates belong to the caller's dispose scope.</summary>
    public override Tensor forward(Tensor input)
    {
        var h = _conv1.forward(nn.functional.silu(_norm1.forward(input))) + input;
        var shape = h.shape;
        var (b, c, height, width) = (shape[0], shape[1], shape[2], shape[3]);
        var d = c / _heads;
        var qkv = _qkv.forward(_normAttn.forward(h)).chunk(3, dim: 1);

        // [B, C, H, W] -> [B, heads, d, HW] -> [B, heads, HW, d]
        Tensor ToHeads(Tensor t) => t.reshape(b, _heads, d, height * width).transpose(-2, -1);

        var attention = nn.functional.scaled_dot_product_attention(ToHeads(qkv[0]), ToHeads(qkv[1]), ToHeads(qkv[2]));

        // [B, heads, HW, d] -> [B, heads, d, HW] -> [B, C, H, W]
        var merged = attention.transpose(-2, -1).reshape(b, c, height, width);
        return _proj.forward(merged) + h;
    }
}
