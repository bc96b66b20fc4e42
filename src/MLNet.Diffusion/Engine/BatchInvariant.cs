using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Engine;

/// <summary>
/// The operations of a UNet forward pass whose result for one image depended on the batch around it on the CPU, in
/// forms whose arithmetic for an image is chosen by that image's own shape, not by the batch or the thread count.
/// <list type="bullet">
/// <item><b>Convolution.</b> ATen picks a convolution's kernel from the input's shape, batch included: batch 1 with a
/// small input, and a 1×1 kernel below batch 16 on one thread, go to im2col + sgemm, anything else to oneDNN, and the
/// two sum in different orders. <see cref="Conv2d(TorchSharp.Modules.Conv2d, Tensor)"/> always calls oneDNN's forward convolution (ATen's
/// <c>mkldnn_convolution</c>, the function ATen itself calls when it chooses oneDNN). oneDNN promises run-to-run
/// determinism only; that its direct kernels sum an output element over its own image's channels and taps in an order
/// that the batch size and thread count leave alone is what they do, held by the tests for the shapes of the presets.</item>
/// <item><b>Linear layers.</b> ATen's are oneMKL's sgemm, whose sums for a row change with the number of rows and, on
/// AMD processors even in strict CNR mode, with the thread count. <see cref="Linear(TorchSharp.Modules.Linear, Tensor)"/>
/// is the same product as oneDNN's 1×1 convolution of one-pixel images.</item>
/// <item><b>Element-wise transcendentals</b> (SiLU's exp). ATen's loop computes whole SIMD vectors and finishes a
/// chunk's last few elements with scalar code (std::exp, not the vectorised one), and with several threads it cuts
/// the tensor into chunks of ⌈n / threads⌉ elements. Which elements are in a tail moves with the batch.
/// <see cref="Silu(Tensor)"/> pads the flat tensor so every chunk is a whole number of vectors: every element goes through
/// the vector code.</item>
/// </list>
/// The other operations of the network are per-image in any batch (GroupNorm's per-group moments, nearest upsampling,
/// gathers, additions; attention with the care <c>Models.AttentionBlock</c> takes), and guidance combines with
/// exactly rounded operations (<c>Sampling.ClassifierFreeGuidance.Combine</c>). Only the CPU with float32 and a
/// libtorch built with oneDNN is covered (x86-64; TorchSharp's osx-arm64 libtorch has no oneDNN): elsewhere these run
/// the ordinary operations, which compute the same function.
/// </summary>
internal static class BatchInvariant
{
    /// <summary>ATen's <c>at::internal::GRAIN_SIZE</c>: element-wise loops under this many elements run on one thread.</summary>
    internal const long GrainSize = 32_768;

    /// <summary>
    /// Elements per aligned block: a multiple of ATen's vectorised loop step (two SIMD vectors: 32 floats with
    /// AVX-512, 16 with AVX2).
    /// </summary>
    internal const long Alignment = 64;

    // Whether this libtorch has oneDNN: one tiny convolution, tried once.
    private static readonly Lazy<bool> s_hasOneDnn = new(() =>
    {
        try
        {
            using var scope = torch.NewDisposeScope();
            _ = OneDnnConvolution(torch.ones(1, 1, 1, 1), torch.ones(1, 1, 1, 1), null, "[0, 0], [1, 1], [1, 1], 1");
            return true;
        }
        catch (ExternalException)
        {
            return false;
        }
    });

    // TorchScript reaches ATen functions that TorchSharp does not bind. One compilation unit per convolution setting,
    // written into the script: TorchSharp 0.107's invoke passes Tensors reliably, but its Scalar arguments were seen
    // to arrive corrupted (c10::Scalar::toLong failing inside the call), so the settings are not arguments.
    private static readonly ConcurrentDictionary<string, Lazy<jit.CompilationUnit>> s_scripts = new();

    /// <summary>
    /// <paramref name="conv"/>(<paramref name="x"/>) through oneDNN whatever the batch size (CPU float32; other devices
    /// and types run <c>conv.forward</c>). Equal, bit for bit, to what <c>conv.forward</c> gives whenever ATen itself
    /// chooses oneDNN.
    /// </summary>
    public static Tensor Conv2d(Conv2d conv, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(conv);
        ArgumentNullException.ThrowIfNull(x);
        if (!Applies(x))
        {
            return conv.forward(x);
        }

        if (conv.padding_mode != PaddingModes.Zeros || conv.padding_type is not null && conv.padding_type != Padding.Valid)
        {
            throw new NotSupportedException($"Batch-invariant convolution takes explicit zero padding, not {conv.padding_type?.ToString() ?? conv.padding_mode.ToString()}.");
        }

        var (padding, stride, dilation) = (conv.padding ?? [0, 0], conv.stride, conv.dilation);
        return OneDnnConvolution(x, conv.weight, conv.bias, FormattableString.Invariant(
            $"[{padding[0]}, {padding[1]}], [{stride[0]}, {stride[1]}], [{dilation[0]}, {dilation[1]}], {conv.groups}"));
    }

    /// <summary>
    /// <paramref name="linear"/>(<paramref name="x"/>) for <paramref name="x"/> [N, in] as oneDNN's 1×1 convolution of
    /// N one-pixel images (CPU float32 with oneDNN; elsewhere <c>linear.forward</c>).
    /// </summary>
    public static Tensor Linear(Linear linear, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(linear);
        return Linear(linear.weight, linear.bias, x);
    }

    /// <summary>
    /// x·Wᵀ + b for <paramref name="x"/> [N, in], <paramref name="weight"/> [out, in] and <paramref name="bias"/> [out] (or
    /// none), as <see cref="Linear(TorchSharp.Modules.Linear, Tensor)"/> computes it. Several layers that read the same
    /// input can run as one call on their stacked weights, paying oneDNN's fixed cost per call once (bench/README.md).
    /// </summary>
    public static Tensor Linear(Tensor weight, Tensor? bias, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(x);
        if (!Applies(x) || x.Dimensions != 2)
        {
            return nn.functional.linear(x, weight, bias);
        }

        using var scope = torch.NewDisposeScope();
        var pixels = x.view(x.size(0), x.size(1), 1, 1);
        var output = OneDnnConvolution(pixels, weight.view(weight.size(0), weight.size(1), 1, 1), bias, "[0, 0], [1, 1], [1, 1], 1");
        return scope.MoveToOuter(output.view(x.size(0), weight.size(0)));
    }

    /// <summary>Whether the oneDNN forms apply to <paramref name="x"/>: a float32 CPU tensor, and oneDNN in this libtorch.</summary>
    private static bool Applies(Tensor x) => x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32 && s_hasOneDnn.Value;

    /// <summary><see cref="Conv2d(TorchSharp.Modules.Conv2d, Tensor)"/> when <paramref name="batchInvariant"/>, else <c>conv.forward</c>.</summary>
    public static Tensor Conv2d(Conv2d conv, Tensor x, bool batchInvariant) =>
        batchInvariant ? Conv2d(conv, x) : conv.forward(x);

    /// <summary><see cref="Silu(Tensor)"/> when <paramref name="batchInvariant"/>, else ATen's <c>silu</c>.</summary>
    public static Tensor Silu(Tensor x, bool batchInvariant) =>
        batchInvariant ? Silu(x) : nn.functional.silu(x);

    /// <summary>ATen's <c>mkldnn_convolution</c> with <paramref name="settings"/> (padding, stride, dilation, groups).</summary>
    private static Tensor OneDnnConvolution(Tensor x, Tensor weight, Tensor? bias, string settings)
    {
        var script = s_scripts.GetOrAdd(settings, s => new Lazy<jit.CompilationUnit>(() => jit.compile(
            $"def conv(x: Tensor, weight: Tensor, bias: Tensor):\n    return torch.mkldnn_convolution(x, weight, bias, {s})\n" +
            $"def conv_no_bias(x: Tensor, weight: Tensor):\n    return torch.mkldnn_convolution(x, weight, None, {s})\n"))).Value;
        // oneDNN picks its kernel from the memory format too, and a transposed view is channels-last for a batch of
        // several images but not for one (ATen reads a size-1 dimension's stride as either): always NCHW.
        using var input = x.contiguous();
        return bias is not null
            ? script.invoke<Tensor>("conv", input, weight, bias)
            : script.invoke<Tensor>("conv_no_bias", input, weight);
    }

    /// <summary>
    /// SiLU, x·σ(x), with every element computed by ATen's vectorised code whatever the batch size and thread count
    /// (CPU; other devices run <c>silu</c> as it is). No copy when the tensor's length already splits into whole vectors.
    /// </summary>
    public static Tensor Silu(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.device_type != DeviceType.CPU)
        {
            return nn.functional.silu(x);
        }

        var length = x.numel();
        var aligned = AlignedLength(length, torch.get_num_threads());
        if (aligned == length && x.is_contiguous())
        {
            return nn.functional.silu(x);
        }

        using var scope = torch.NewDisposeScope();
        var buffer = torch.zeros(aligned, x.dtype, x.device);
        buffer.narrow(0, 0, length).copy_(x.reshape(-1));
        return scope.MoveToOuter(nn.functional.silu(buffer).narrow(0, 0, length).view(x.shape));
    }

    /// <summary>
    /// The smallest length ≥ <paramref name="length"/> whose element-wise loop on <paramref name="threads"/> threads
    /// has no scalar tail: a multiple of <see cref="Alignment"/> that ATen's OpenMP <c>parallel_for</c> cuts into chunks
    /// that are multiples of it too (min(threads, ⌈n / grain⌉) chunks of ⌈n / chunks⌉ elements; one chunk below the grain).
    /// </summary>
    internal static long AlignedLength(long length, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var aligned = DivideRoundingUp(length, Alignment) * Alignment;
        while (!ChunksAreAligned(aligned, threads))
        {
            aligned += Alignment;
        }

        return aligned;
    }

    private static bool ChunksAreAligned(long length, int threads)
    {
        if (length <= GrainSize || threads == 1)
        {
            return true;
        }

        var chunks = Math.Min(threads, DivideRoundingUp(length, GrainSize));
        return DivideRoundingUp(length, chunks) % Alignment == 0;
    }

    private static long DivideRoundingUp(long value, long divisor) => (value + divisor - 1) / divisor;
}
