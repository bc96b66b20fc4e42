namespace MLNet.Diffusion.Torch.Nn;

/// <summary>2-D convolution over NCHW input with a square kernel; PyTorch's default initialisation.</summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    private readonly long _stride;
    private readonly long _padding;
    private readonly long _dilation;
    private readonly long _groups;

    /// <summary>Creates the layer.</summary>
    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, long groups = 1, bool bias = true)
    {
        Init.CheckConvArguments(inChannels, outChannels, kernelSize, groups);

        (_stride, _padding, _dilation, _groups) = (stride, padding, dilation, groups);
        Weight = RegisterParameter("weight", LibTorch.Empty([outChannels, inChannels / groups, kernelSize, kernelSize]));
        Bias = bias ? RegisterParameter("bias", LibTorch.Empty([outChannels])) : null;
        Init.DefaultLinearOrConv(Weight, Bias);
    }

    /// <summary>The [out, in/groups, k, k] weight.</summary>
    public Tensor Weight { get; }

    /// <summary>The [out] bias, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, _stride, _padding, _dilation, _groups);
}
