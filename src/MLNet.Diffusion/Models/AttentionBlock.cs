using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Models;

/// <summary>
/// Self-attention over the pixels of a feature map: GroupNorm, a 1×1 conv to queries, keys and values,
/// softmax(q·kᵀ/√d)·v per head, a zero-initialised 1×1 output projection, plus the input.
/// </summary>
public sealed class AttentionBlock : nn.Module
{
    private readonly int _heads;
    private readonly GroupNorm _norm;
    private readonly Conv2d _qkv;
    private readonly Conv2d _projection;

    /// <summary>Creates the block.</summary>
    public AttentionBlock(int channels, int heads, int groups)
        : base(nameof(AttentionBlock))
    {
        _heads = heads;
        _norm = Layers.GroupNorm(groups, channels);
        register_module("norm", _norm);
        _qkv = nn.Conv2d(channels, 3 * channels, 1);
        register_module("qkv", _qkv);
        _projection = Layers.ZeroInit(nn.Conv2d(channels, channels, 1));
        register_module("proj", _projection);
    }

    /// <summary>
    /// Nothing more to register: the constructor registered every layer under its PyTorch name. TorchSharp's default
    /// would register the fields again under their C# names when this block is added to a parent, and every weight
    /// would appear twice in the state dict.
    /// </summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>The block's output for <paramref name="x"/> [B, C, H, W].</summary>
    public Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        var (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3]);
        var qkv = _norm.forward(x).Then(_qkv.forward).Then(t => t.reshape(batch, 3, _heads, channels / _heads, height * width));
        // [B, heads, HW, d] for each of q, k, v.
        var q = qkv.select(1, 0).transpose(-1, -2);
        var k = qkv.select(1, 1).transpose(-1, -2);
        var v = qkv.select(1, 2).transpose(-1, -2);
        var attended = nn.functional.scaled_dot_product_attention(q, k, v).Then(t => t.transpose(-1, -2)).Then(t => t.reshape(batch, channels, height, width));
        return scope.MoveToOuter(attended.Then(_projection.forward).Then(t => x + t));
    }
}
