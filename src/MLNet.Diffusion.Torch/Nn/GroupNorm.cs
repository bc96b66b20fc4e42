namespace MLNet.Diffusion.Torch.Nn;

/// <summary>Group normalisation of [N, C, ...] input with a per-channel affine transform (ones and zeros at start).</summary>
public sealed class GroupNorm : Module<Tensor, Tensor>
{
    private readonly long _groups;
    private readonly double _eps;

    /// <summary>Creates the layer; <paramref name="numChannels"/> must be divisible by <paramref name="numGroups"/>.</summary>
    public GroupNorm(long numGroups, long numChannels, double eps = 1e-5, bool affine = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numGroups, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numChannels, 1);
        if (numChannels % numGroups != 0)
        {
            throw new ArgumentException($"GroupNorm: {numChannels} channels cannot be split into {numGroups} groups.", nameof(numGroups));
        }

        (_groups, _eps) = (numGroups, eps);
        Weight = affine ? RegisterParameter("weight", LibTorch.Ones([numChannels])) : null;
        Bias = affine ? RegisterParameter("bias", LibTorch.Zeros([numChannels])) : null;
    }

    /// <summary>The per-channel scale, or null without affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>The per-channel shift, or null without affine.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.GroupNorm(input, _groups, Weight, Bias, _eps);
}
