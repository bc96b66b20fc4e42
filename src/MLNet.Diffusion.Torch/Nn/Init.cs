namespace MLNet.Diffusion.Torch.Nn;

/// <summary>In-place weight initialisers with PyTorch's formulas (<c>torch.nn.init</c>).</summary>
public static class Init
{
    /// <summary>(fan_in, fan_out) of a weight: dim 1 and dim 0 times the receptive field, as PyTorch computes them.</summary>
    public static (long FanIn, long FanOut) FanInAndFanOut(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var shape = weight.Shape;
        if (shape.Length < 2)
        {
            throw new ArgumentException($"Fan in and fan out need a weight with at least 2 dimensions, not {shape.Length}.", nameof(weight));
        }

        long receptive = 1;
        for (var i = 2; i < shape.Length; i++)
        {
            receptive *= shape[i];
        }

        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Fills with U(low, high).</summary>
    public static Tensor Uniform(Tensor tensor, double low, double high, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var noGrad = Autograd.NoGrad();
        LibTorch.Check(Interop.Native.mlnd_uniform_(tensor.LiveHandle, low, high, LibTorch.GeneratorArg(generator)));
        return tensor;
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public static Tensor Normal(Tensor tensor, double mean = 0, double std = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var noGrad = Autograd.NoGrad();
        LibTorch.Check(Interop.Native.mlnd_normal_(tensor.LiveHandle, mean, std, LibTorch.GeneratorArg(generator)));
        return tensor;
    }

    /// <summary>
    /// Kaiming (He) uniform for leaky ReLU slope <paramref name="a"/>: bound = gain·√(3/fan_in), gain = √(2/(1+a²)).
    /// PyTorch's Linear and Conv layers use a = √5, which gives bound = 1/√fan_in.
    /// </summary>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0, Generator? generator = null)
    {
        var (fanIn, _) = FanInAndFanOut(tensor);
        var gain = Math.Sqrt(2.0 / (1 + (a * a)));
        var bound = fanIn == 0 ? 0 : gain * Math.Sqrt(3.0 / fanIn);
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>The argument checks Conv2d and ConvTranspose2d share.</summary>
    internal static void CheckConvArguments(long inChannels, long outChannels, long kernelSize, long groups)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        if (inChannels % groups != 0 || outChannels % groups != 0)
        {
            throw new ArgumentException($"Channels ({inChannels} in, {outChannels} out) must be divisible by groups ({groups}).", nameof(groups));
        }
    }

    /// <summary>PyTorch's default for Linear/Conv: weight Kaiming-uniform with a = √5, bias U(±1/√fan_in).</summary>
    internal static void DefaultLinearOrConv(Tensor weight, Tensor? bias)
    {
        KaimingUniform(weight, Math.Sqrt(5));
        if (bias is not null)
        {
            var (fanIn, _) = FanInAndFanOut(weight);
            var bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            Uniform(bias, -bound, bound);
        }
    }
}
