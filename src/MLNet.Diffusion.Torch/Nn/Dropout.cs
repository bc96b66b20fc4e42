namespace MLNet.Diffusion.Torch.Nn;

/// <summary>Dropout, active only in training mode.</summary>
public sealed class Dropout : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with drop probability <paramref name="p"/> in [0, 1].</summary>
    public Dropout(double p = 0.5)
    {
        if (p is < 0 or > 1 || double.IsNaN(p))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1].");
        }

        P = p;
    }

    /// <summary>The drop probability.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, P, IsTraining && P > 0);
}
