using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Models;

/// <summary>
/// Self-attention over the pixels of a feature map: GroupNorm, a 1×1 conv to queries, keys and values,
/// softmax(q·kᵀ/√d)·v per head, a zero-initialised 1×1 output projection, plus the input.
/// </summary>
internal sealed class AttentionBlock : nn.Module
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
    public Tensor Forward(Tensor x) => Forward(x, batchInvariant: false);

    /// <summary>
    /// The block's output for <paramref name="x"/> [B, C, H, W]; with <paramref name="batchInvariant"/>, its 1×1
    /// convolutions go through <see cref="BatchInvariant.Conv2d(Conv2d, Tensor)"/> and q, k, v are made contiguous copies. ATen's CPU
    /// flash attention, which contiguous inputs get, works per (image, head, block of queries), one sgemm each inside a
    /// parallel loop, where oneMKL runs single-threaded; the transposed views would take the math path, whose q·kᵀ is one
    /// sgemm for B·heads = 1 and a batched sgemm otherwise. A loop of a single item runs outside the parallel region,
    /// where oneMKL may split that sgemm across threads (and in its default mode sum differently), so such a lone item
    /// (one image, one head, one block of queries) is attended as two copies.
    /// </summary>
    internal Tensor Forward(Tensor x, bool batchInvariant)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        var (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3]);
        var qkv = _norm.forward(x).ThenDispose(t => BatchInvariant.Conv2d(_qkv, t, batchInvariant)).ThenDispose(t => t.reshape(batch, 3, _heads, channels / _heads, height * width));
        // [B, heads, HW, d] for each of q, k, v.
        // ATen's flash attention cuts the queries into blocks of 32 below 192 of them (64 up to 767, then 256), and its
        // parallel loop runs over (image, head, block): a single item only for one image with one head and ≤ 32 pixels.
        var copies = batchInvariant && batch * _heads == 1 && height * width <= 32 ? 2 : 1;
        // repeat always copies, so each part is contiguous (flash attention) even when copies is 1.
        Tensor Part(int index) => qkv.select(1, index).transpose(-1, -2).ThenDispose(t => batchInvariant ? t.repeat(copies, 1, 1, 1) : t);
        var (q, k, v) = (Part(0), Part(1), Part(2));
        var attended = nn.functional.scaled_dot_product_attention(q, k, v)
            .ThenDispose(t => t.narrow(0, 0, batch)).ThenDispose(t => t.transpose(-1, -2)).ThenDispose(t => t.reshape(batch, channels, height, width));
        return scope.MoveToOuter(attended.ThenDispose(t => BatchInvariant.Conv2d(_projection, t, batchInvariant)).ThenDispose(t => x + t));
    }
}
