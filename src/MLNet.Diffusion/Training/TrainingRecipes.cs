namespace MLNet.Diffusion.Training;

/// <summary>Named sets of optimiser settings, applied on top of a run's own options.</summary>
public static class TrainingRecipes
{
    /// <summary>The peak learning rate of <see cref="ShortRun{T}"/>.</summary>
    public const double ShortRunLearningRate = 1e-3;

    /// <summary>The warm-up steps of <see cref="ShortRun{T}"/>, at most: 100, or the whole run when it is shorter.</summary>
    public const int ShortRunMaxWarmupSteps = 100;

    /// <summary>
    /// The recipe of <c>mlnet-diffusion train</c> and the Fashion-MNIST example (<c>./build.sh demo</c>), for runs of
    /// hundreds to a few thousand steps: peak rate 1e-3, linear warm-up over min(100, <see cref="DdpmTrainerOptions.MaxSteps"/>)
    /// steps, cosine decay, EMA decay 0.999. DDPM's own settings (the <see cref="DdpmTrainerOptions"/> defaults: 2e-4 after
    /// 500 warm-up steps, constant, EMA 0.9999) suit runs of tens of thousands of steps.
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
}
