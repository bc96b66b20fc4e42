using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>How a loss reduces over elements (libtorch's <c>at::Reduction</c> codes).</summary>
public enum Reduction : sbyte
{
    /// <summary>No reduction: one loss per element.</summary>
    None = 0,

    /// <summary>The mean over elements.</summary>
    Mean = 1,

    /// <summary>The sum over elements.</summary>
    Sum = 2,
}

/// <summary>Interpolation modes for <see cref="Functional.Interpolate"/>.</summary>
public enum InterpolationMode : sbyte
{
    /// <summary>Nearest neighbour (PyTorch's legacy "nearest").</summary>
    Nearest = 0,

    /// <summary>Bilinear.</summary>
    Bilinear = 1,
}

/// <summary>
/// Stateless neural-network operations (PyTorch's <c>torch.nn.functional</c>). Image tensors are NCHW.
/// Every operation records for autograd when its inputs require gradients.
/// </summary>
public static unsafe class Functional
{
    /// <summary>2-D convolution. <paramref name="weight"/> is [out, in/groups, kh, kw].</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1) =>
        Conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>2-D convolution with separate height and width settings.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (long H, long W) stride, (long H, long W) padding, (long H, long W) dilation, long groups = 1)
    {
        long* s = stackalloc long[] { stride.H, stride.W };
        long* p = stackalloc long[] { padding.H, padding.W };
        long* d = stackalloc long[] { dilation.H, dilation.W };
        return LibTorch.Wrap(Native.mlnd_conv2d(Tensor.Arg(input), Tensor.Arg(weight), Tensor.ArgOrNull(bias), s, p, d, groups));
    }

    /// <summary>2-D transposed convolution. <paramref name="weight"/> is [in, out/groups, kh, kw].</summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long outputPadding = 0, long groups = 1, long dilation = 1)
    {
        long* s = stackalloc long[] { stride, stride };
        long* p = stackalloc long[] { padding, padding };
        long* o = stackalloc long[] { outputPadding, outputPadding };
        long* d = stackalloc long[] { dilation, dilation };
        return LibTorch.Wrap(Native.mlnd_conv_transpose2d(Tensor.Arg(input), Tensor.Arg(weight), Tensor.ArgOrNull(bias), s, p, o, groups, d));
    }

    /// <summary><c>input · weightᵀ + bias</c>; <paramref name="weight"/> is [out, in].</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        LibTorch.Wrap(Native.mlnd_linear(Tensor.Arg(input), Tensor.Arg(weight), Tensor.ArgOrNull(bias)));

    /// <summary>Group normalisation over channel groups of an [N, C, ...] tensor.</summary>
    public static Tensor GroupNorm(Tensor input, long groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
        LibTorch.Wrap(Native.mlnd_group_norm(Tensor.Arg(input), groups, Tensor.ArgOrNull(weight), Tensor.ArgOrNull(bias), eps));

    /// <summary>Layer normalisation over the trailing <paramref name="normalizedShape"/> dimensions.</summary>
    public static Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        fixed (long* s = normalizedShape)
        {
            return LibTorch.Wrap(Native.mlnd_layer_norm(Tensor.Arg(input), s, normalizedShape.Length, Tensor.ArgOrNull(weight), Tensor.ArgOrNull(bias), eps));
        }
    }

    /// <summary>x · sigmoid(x).</summary>
    public static Tensor Silu(Tensor input) => LibTorch.Wrap(Native.mlnd_silu(Tensor.Arg(input)));

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor input) => LibTorch.Wrap(Native.mlnd_relu(Tensor.Arg(input)));

    /// <summary>Gaussian error linear unit, exact or with the tanh approximation.</summary>
    public static Tensor Gelu(Tensor input, bool tanhApproximation = false) =>
        LibTorch.Wrap(Native.mlnd_gelu(Tensor.Arg(input), Tensor.Flag(tanhApproximation)));

    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public static Tensor Softmax(Tensor input, long dim) => LibTorch.Wrap(Native.mlnd_softmax(Tensor.Arg(input), dim));

    /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
    public static Tensor LogSoftmax(Tensor input, long dim) => LibTorch.Wrap(Native.mlnd_log_softmax(Tensor.Arg(input), dim));

    /// <summary>Zeroes elements with probability <paramref name="p"/> and scales the rest by 1/(1−p) when <paramref name="training"/>.</summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true)
    {
        if (p is < 0 or > 1 || double.IsNaN(p))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1].");
        }

        return LibTorch.Wrap(Native.mlnd_dropout(Tensor.Arg(input), p, Tensor.Flag(training)));
    }

    /// <summary>
    /// softmax(q·kᵀ/√d + mask)·v over the last two dimensions of [..., L, d] tensors. A bool mask keeps positions
    /// where it is true; a float mask is added. libtorch 2.x uses its fused kernel; 1.13 composes matmul and softmax.
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor? mask = null, double dropoutP = 0, bool isCausal = false) =>
        LibTorch.Wrap(Native.mlnd_scaled_dot_product_attention(Tensor.Arg(query), Tensor.Arg(key), Tensor.Arg(value), Tensor.ArgOrNull(mask), dropoutP, Tensor.Flag(isCausal)));

    /// <summary>Resizes the spatial dimensions of an [N, C, H, W] tensor to (<paramref name="height"/>, <paramref name="width"/>).</summary>
    public static Tensor Interpolate(Tensor input, long height, long width, InterpolationMode mode = InterpolationMode.Nearest, bool alignCorners = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        return LibTorch.Wrap(Native.mlnd_interpolate(Tensor.Arg(input), height, width, (sbyte)mode, Tensor.Flag(alignCorners)));
    }

    /// <summary>Average pooling with a square window (stride defaults to the window).</summary>
    public static Tensor AvgPool2d(Tensor input, long kernelSize, long? stride = null, long padding = 0)
    {
        long* k = stackalloc long[] { kernelSize, kernelSize };
        long* s = stackalloc long[] { stride ?? kernelSize, stride ?? kernelSize };
        long* p = stackalloc long[] { padding, padding };
        return LibTorch.Wrap(Native.mlnd_avg_pool2d(Tensor.Arg(input), k, s, p));
    }

    /// <summary>Max pooling with a square window (stride defaults to the window).</summary>
    public static Tensor MaxPool2d(Tensor input, long kernelSize, long? stride = null, long padding = 0)
    {
        long* k = stackalloc long[] { kernelSize, kernelSize };
        long* s = stackalloc long[] { stride ?? kernelSize, stride ?? kernelSize };
        long* p = stackalloc long[] { padding, padding };
        return LibTorch.Wrap(Native.mlnd_max_pool2d(Tensor.Arg(input), k, s, p));
    }

    /// <summary>Squared error between <paramref name="input"/> and <paramref name="target"/>.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        LibTorch.Wrap(Native.mlnd_mse_loss(Tensor.Arg(input), Tensor.Arg(target), (sbyte)reduction));

    /// <summary>Cross-entropy of [N, classes] logits against int64 class indices.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean) =>
        LibTorch.Wrap(Native.mlnd_cross_entropy(Tensor.Arg(logits), Tensor.Arg(target), (sbyte)reduction));

    /// <summary>Rows of <paramref name="weight"/> picked by int64 <paramref name="indices"/>.</summary>
    public static Tensor Embedding(Tensor weight, Tensor indices) =>
        LibTorch.Wrap(Native.mlnd_embedding(Tensor.Arg(weight), Tensor.Arg(indices)));
}
