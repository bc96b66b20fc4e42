namespace MLNet.Diffusion.Training;

/// <summary>
/// A training set of same-sized images (and optional class labels), read pass by pass and batch by batch, so that a
/// data set need not fit in memory. Images come out as float32 [B, C, H, W] in [−1, 1], labels as int64 [B] in
/// [0, <see cref="NumClasses"/>).
/// </summary>
/// <remarks>
/// The order of a pass is a function of the run's seed and the pass number only, and a pass can be opened at any position:
/// that is what lets a resumed run see exactly the examples an uninterrupted one would.
/// </remarks>
public interface ITrainingData
{
    /// <summary>The number of examples in one pass.</summary>
    long Count { get; }

    /// <summary>Channels per image.</summary>
    int Channels { get; }

    /// <summary>The side of the square images.</summary>
    int ImageSize { get; }

    /// <summary>The number of classes when the data is labelled, else null.</summary>
    int? NumClasses { get; }

    /// <summary>
    /// Pass <paramref name="pass"/> (0-based) of a run seeded <paramref name="seed"/>, positioned before its example
    /// <paramref name="start"/> (0 to <see cref="Count"/>).
    /// </summary>
    ITrainingPass OpenPass(ulong seed, long pass, long start);
}
