using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Named sets of training settings, applied on top of a run's own options: <see cref="Default{T}"/> (the library's, chosen by
/// measurement: docs/quality.md#recipe-ablation-at-the-demo-budget) and <see cref="ShortRun{T}"/> (the recipe before it, which the PyTorch reference
/// and bench/quality.sh pin). The options' own defaults are DDPM 2020's (<see cref="DdpmTrainerOptions"/>).
/// </summary>
public static class TrainingRecipes
{
    /// <summary>The name of <see cref="Default{T}"/> (<c>train --recipe default</c>).</summary>
    public const string DefaultName = "default";

    /// <summary>The name of <see cref="ShortRun{T}"/> (<c>train --recipe short-run</c>).</summary>
    public const string ShortRunName = "short-run";

    /// <summary>The recipes by name, the default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [DefaultName, ShortRunName];

    /// <summary>The peak learning rate of <see cref="ShortRun{T}"/> and <see cref="Default{T}"/>.</summary>
    public const double ShortRunLearningRate = 1e-3;

    /// <summary>The warm-up steps of <see cref="ShortRun{T}"/>, at most: 100, or the whole run when it is shorter.</summary>
    public const int ShortRunMaxWarmupSteps = 100;

    /// <summary>
    /// The library's recipe, for <c>mlnet-diffusion train</c>, the Fashion-MNIST example (<c>./build.sh demo</c>) and the ML.NET
    /// catalog's simple <c>Train(...)</c>: <see cref="ShortRun{T}"/> with a warm-up of a tenth of the run, at most 100 steps
    /// (<see cref="DefaultWarmupSteps"/>), and the prediction that measured better for the run's length
    /// (<see cref="DefaultPredictionType"/>): v (Salimans and Ho 2022) for runs of fewer than
    /// <see cref="DefaultEpsilonFromImages"/> images, ε from there on (so from 1,000 steps, on options that predict ε, it is
    /// <see cref="ShortRun{T}"/> itself).
    /// At 200 steps of 64 on Fashion-MNIST v prediction took KID from 13.19 to 8.97 and the images of the class asked for from
    /// 35 % to 64 %, while the schedule, min-SNR weighting, rate, warm-up (100 or 20 steps), dropout and moving average moved KID
    /// by less than its spread; at 2,000 and 3,000 steps of 64 ε had the better FID (11.47 against 14.11, 6.06 against 8.70) and
    /// recall (docs/quality.md). The warm-up is sized for runs of under 1,000 steps, which would otherwise spend most of their
    /// steps below the peak rate.
    /// </summary>
    /// <typeparam name="T">The options' type (<see cref="DdpmTrainerOptions"/> or the ML.NET trainer's options).</typeparam>
    /// <param name="options">The run's options, with <see cref="DdpmTrainerOptions.MaxSteps"/> set.</param>
    /// <returns>A copy of <paramref name="options"/> with the recipe's prediction, rate, warm-up, schedule and EMA decay.</returns>
    public static T Default<T>(T options)
        where T : DdpmTrainerOptions =>
        (T)(ShortRun(options) with
        {
            PredictionType = DefaultPredictionType(options.MaxSteps, options.ImagesPerStep),
            WarmupSteps = DefaultWarmupSteps(options.MaxSteps),
        });

    /// <summary>
    /// The training images (optimiser steps × images per step) from which <see cref="Default{T}"/> predicts ε instead of v:
    /// 64,000 (1,000 steps of 64). Images seen, not the dataset's size: 1,000 steps of 64 on a folder of 88 images count 64,000.
    /// Measured on class-conditional Fashion-MNIST (docs/quality.md): v led at 12,800 images (200 steps of 64, <c>small</c>
    /// preset) and at about 45,000 (700 steps of 64, <c>tiny</c>), ε at 128,000 and 192,000 (<c>small</c>); where between
    /// them they cross was not measured (the two sides are on different widths), and other data may cross elsewhere.
    /// </summary>
    public const long DefaultEpsilonFromImages = 64_000;

    /// <summary>
    /// The prediction of <see cref="Default{T}"/> for a run of <paramref name="maxSteps"/> steps of <paramref name="imagesPerStep"/>
    /// images: v (Salimans and Ho 2022) when the run sees fewer than <see cref="DefaultEpsilonFromImages"/> images, ε (Ho et al.
    /// 2020, eq. 14) from there on.
    /// </summary>
    /// <param name="maxSteps">The run's optimiser steps (<see cref="DdpmTrainerOptions.MaxSteps"/>; a run set by
    /// <see cref="DdpmTrainerOptions.Epochs"/> is counted by it too).</param>
    /// <param name="imagesPerStep">Images per optimiser step (batch size × gradient accumulation steps); below 1 counts as 1,
    /// and the options' validation refuses such a run.</param>
    public static PredictionType DefaultPredictionType(long maxSteps, long imagesPerStep) =>
        (double)maxSteps * Math.Max(1L, imagesPerStep) < DefaultEpsilonFromImages ? PredictionType.VPrediction : PredictionType.Epsilon;

    /// <summary>
    /// The warm-up of <see cref="Default{T}"/> for a run of <paramref name="maxSteps"/>: a tenth of it, rounded up, at most
    /// <see cref="ShortRunMaxWarmupSteps"/> (100 from 1,000 steps on; 20 at 200; 1 for runs of up to 10 steps).
    /// </summary>
    /// <param name="maxSteps">The run's optimiser steps, at least 1.</param>
    public static int DefaultWarmupSteps(long maxSteps) => (int)Math.Clamp((Math.Min(maxSteps, 10L * ShortRunMaxWarmupSteps) + 9) / 10, 1, ShortRunMaxWarmupSteps);

    /// <summary>
    /// The recipe of <c>mlnet-diffusion train</c> before the ablation of docs/quality.md, for runs of hundreds to a few thousand
    /// steps: the options' prediction (ε unless they set another), peak rate 1e-3, linear warm-up over min(100, <see cref="DdpmTrainerOptions.MaxSteps"/>) steps, cosine
    /// decay, EMA decay 0.999. DDPM's own settings (the <see cref="DdpmTrainerOptions"/> defaults: 2e-4 after 500 warm-up steps,
    /// constant, EMA 0.9999) suit runs of tens of thousands of steps.
    /// </summary>
    /// <typeparam name="T">The options' type (<see cref="DdpmTrainerOptions"/> or the ML.NET trainer's options).</typeparam>
    /// <param name="options">The run's options, with <see cref="DdpmTrainerOptions.MaxSteps"/> set.</param>
    /// <returns>A copy of <paramref name="options"/> with the recipe's rate, warm-up, schedule and EMA decay.</returns>
    public static T ShortRun<T>(T options)
        where T : DdpmTrainerOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        return (T)(options with
        {
            LearningRate = ShortRunLearningRate,
            WarmupSteps = (int)Math.Min(ShortRunMaxWarmupSteps, options.MaxSteps),
            LearningRateSchedule = LearningRateSchedule.Cosine,
            EmaDecay = 0.999,
        });
    }

    /// <summary>The recipe called <paramref name="name"/> (one of <see cref="Names"/>) applied to <paramref name="options"/>.</summary>
    /// <typeparam name="T">The options' type.</typeparam>
    /// <param name="name">A recipe's name.</param>
    /// <param name="options">The run's options, with <see cref="DdpmTrainerOptions.MaxSteps"/> set.</param>
    /// <exception cref="ArgumentException">No recipe has that name; the message lists the names.</exception>
    public static T Apply<T>(string name, T options)
        where T : DdpmTrainerOptions => name switch
        {
            DefaultName => Default(options),
            ShortRunName => ShortRun(options),
            _ => throw new ArgumentException($"Unknown recipe '{name}': use one of {string.Join(", ", Names)}.", nameof(name)),
        };
}
