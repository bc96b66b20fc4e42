namespace MLNet.Diffusion.Torch.Nn;

/// <summary><c>y = x·Wᵀ + b</c> with W of shape [out, in]; PyTorch's default initialisation.</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    public Linear(long inFeatures, long outFeatures, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        Weight = RegisterParameter("weight", LibTorch.Empty([outFeatures, inFeatures]));
        Bias = bias ? RegisterParameter("bias", LibTorch.Empty([outFeatures])) : null;
        Init.DefaultLinearOrConv(Weight, Bias);
    }

    /// <summary>The [out, in] weight.</summary>
    public Tensor Weight { get; }

    /// <summary>The [out] bias, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);
}
