namespace MLNet.Diffusion.Torch.Nn;

/// <summary>Layer normalisation over the trailing dimensions, with an elementwise affine transform.</summary>
public sealed class LayerNorm : Module<Tensor, Tensor>
{
    private readonly long[] _shape;
    private readonly double _eps;

    /// <summary>Creates the layer.</summary>
    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(s => s < 1))
        {
            throw new ArgumentException("LayerNorm needs a non-empty shape of positive sizes.", nameof(normalizedShape));
        }

        (_shape, _eps) = ((long[])normalizedShape.Clone(), eps);
        Weight = elementwiseAffine ? RegisterParameter("weight", LibTorch.Ones(_shape)) : null;
        Bias = elementwiseAffine ? RegisterParameter("bias", LibTorch.Zeros(_shape)) : null;
    }

    /// <summary>Creates the layer over the last dimension of size <paramref name="features"/>.</summary>
    public LayerNorm(long features, double eps = 1e-5, bool elementwiseAffine = true)
        : this([features], eps, elementwiseAffine)
    {
    }

    /// <summary>The scale, or null.</summary>
    public Tensor? Weight { get; }

    /// <summary>The shift, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LayerNorm(input, _shape, Weight, Bias, _eps);
}
