namespace MLNet.Diffusion.Torch.Nn;

/// <summary>The x·sigmoid(x) activation as a module.</summary>
public sealed class SiLU : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Silu(input);
}
