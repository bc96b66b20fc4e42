using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>One pass over an <see cref="ITrainingData"/> in its order for the run, read batch by batch.</summary>
public interface ITrainingPass : IDisposable
{
    /// <summary>
    /// The next examples of the pass, at most <paramref name="count"/>: images [n, C, H, W] and, when labelled, int64 labels [n],
    /// with 1 ≤ n ≤ <paramref name="count"/>; null when the pass has no more examples.
    /// </summary>
    (Tensor Images, Tensor? Labels)? Read(int count);
}
