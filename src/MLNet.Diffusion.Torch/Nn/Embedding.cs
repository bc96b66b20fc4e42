namespace MLNet.Diffusion.Torch.Nn;

/// <summary>A lookup table of <c>numEmbeddings</c> vectors, initialised N(0, 1) as in PyTorch.</summary>
public sealed class Embedding : Module<Tensor, Tensor>
{
    /// <summary>Creates the table.</summary>
    public Embedding(long numEmbeddings, long embeddingDim)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numEmbeddings, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingDim, 1);
        Weight = RegisterParameter("weight", Init.Normal(LibTorch.Empty([numEmbeddings, embeddingDim])));
    }

    /// <summary>The [numEmbeddings, embeddingDim] table.</summary>
    public Tensor Weight { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Embedding(Weight, input);
}
