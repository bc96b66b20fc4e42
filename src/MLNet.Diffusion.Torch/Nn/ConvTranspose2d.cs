namespace MLNet.Diffusion.Torch.Nn;

/// <summary>2-D transposed convolution with a square kernel; PyTorch's default initialisation.</summary>
public sealed class ConvTranspose2d : Module<Tensor, Tensor>
{
    private readonly long _stride;
    private readonly long _padding;
    private readonly long _outputPadding;
    private readonly long _groups;
    private readonly long _dilation;

    /// <summary>Creates the layer.</summary>
    public ConvTranspose2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long outputPadding = 0, long groups = 1, bool bias = true, long dilation = 1)
    {
        Init.CheckConvArguments(inChannels, outChannels, kernelSize, groups);

        (_stride, _padding, _outputPadding, _groups, _dilation) = (stride, padding, outputPadding, groups, dilation);
        Weight = RegisterParameter("weight", LibTorch.Empty([inChannels, outChannels / groups, kernelSize, kernelSize]));
        Bias = bias ? RegisterParameter("bias", LibTorch.Empty([outChannels])) : null;
        Init.DefaultLinearOrConv(Weight, Bias);
    }

    /// <summary>The [in, out/groups, k, k] weight.</summary>
    public Tensor Weight { get; }

    /// <summary>The [out] bias, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose2d(input, Weight, Bias, _stride, _padding, _outputPadding, _groups, _dilation);
}
