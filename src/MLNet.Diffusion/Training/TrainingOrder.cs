using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// The order of passes over data that can be read by position: a fresh permutation per pass, drawn from (seed, pass) with
/// libtorch's <c>randperm</c>, so a pass can be reopened at any position.
/// </summary>
public static class TrainingOrder
{
    /// <summary>The positions 0 to <paramref name="count"/> − 1 in the order of pass <paramref name="pass"/> of a run seeded <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is not positive or <paramref name="pass"/> is negative.</exception>
    public static long[] Permutation(ulong seed, long pass, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegative(pass);
        using var generator = new Generator(seed + (0x9E3779B97F4A7C15UL * (ulong)(pass + 1)));
        using var scope = torch.NewDisposeScope();
        return torch.randperm(count, generator: generator).data<long>().ToArray();
    }
}
