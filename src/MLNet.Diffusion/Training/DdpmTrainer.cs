using MLNet.Diffusion.Models;
using TorchSharp;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Trains a <see cref="UNet2D"/> with the DDPM objective (Ho et al. 2020, Algorithm 1): AdamW with warm-up,
/// gradient clipping and accumulation, an exponential moving average of the weights, optional class
/// conditioning with label dropout, and checkpoints from which a run resumes exactly. On the CPU a run is
/// a pure function of its options and data: training 2N steps, or N steps then resuming for N more, gives
/// bit-identical losses and weights.
/// </summary>
public sealed class DdpmTrainer
{
    /// <summary>Creates a trainer.</summary>
    public DdpmTrainer(DdpmTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validated() with { Seed = options.Seed ?? 0 };
    }

    /// <summary>The run's options.</summary>
    public DdpmTrainerOptions Options { get; }

    /// <summary>Trains on <paramref name="data"/>, from scratch or, for fine-tuning, from <paramref name="initialModel"/>'s weights.</summary>
    /// <param name="data">The training data.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="initialModel">
    /// Weights to start from (fine-tuning): the network and the moving average start as copies of them, and its configuration replaces
    /// <see cref="DdpmTrainerOptions.Model"/>. Null starts from random weights.
    /// </param>
    /// <param name="cancellationToken">Stops after the current step, writing a checkpoint.</param>
    /// <exception cref="ArgumentException">The data does not fit the model (size, channels, classes).</exception>
    public TrainingResult Train(ITrainingData data, IProgress<TrainingProgress>? progress = null, UNet2D? initialModel = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        // The checkpoints record what the values mean: without an encoding given, the data's values are DDPM's model space.
        var trainer = initialModel is null && Options.PixelEncoding is not null ? this
            : new DdpmTrainer(Options with { Model = initialModel?.Config ?? Options.Model, PixelEncoding = Options.PixelEncoding ?? Images.PixelEncoding.ModelSpace(data.Channels) });
        var config = trainer.ModelConfig(data);
        torch.random.manual_seed(unchecked((long)Options.Seed!.Value));
        using var run = new TrainingRun(trainer, data, config);
        if (initialModel is not null)
        {
            run.StartFrom(initialModel);
        }

        return run.Execute(progress, cancellationToken);
    }

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/> on the same <paramref name="data"/>, with the
    /// checkpoint's options, writing further checkpoints beside the one resumed from. The result covers the whole run:
    /// losses from step 1, training time and throughput summed over every part.
    /// </summary>
    /// <param name="checkpointPath">A checkpoint written by a run.</param>
    /// <param name="data">The run's training data.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="maxSteps">A new total number of steps (to train longer than planned); null keeps the run's.</param>
    /// <param name="cancellationToken">Stops after the current step, writing a checkpoint.</param>
    /// <exception cref="ArgumentException">The data differs from the run's (size, channels, classes, examples per pass), or <paramref name="maxSteps"/> is below the checkpoint's step.</exception>
    public static TrainingResult Resume(string checkpointPath, ITrainingData data, IProgress<TrainingProgress>? progress = null,
        long? maxSteps = null, CancellationToken cancellationToken = default) =>
        Resume(ResumePlan.Create(checkpointPath, data, given: null, maxSteps), data, progress, cancellationToken);

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/> on the same <paramref name="data"/> with
    /// <paramref name="options"/>, the run's options in full as a new run would be given them (e.g. the checkpoint's,
    /// <see cref="TrainingCheckpoint.Read"/>, with some changed). What defines the run must equal the checkpoint's: the model,
    /// schedule, prediction type, loss weighting, class conditioning and label dropout, batch size and accumulation,
    /// flipping, and the seed (null keeps the checkpoint's); every one that differs is named in one error, before anything is
    /// loaded. The rest is applied and recorded in later checkpoints: total steps or epochs, learning rate, warm-up and its
    /// schedule, weight decay, clipping, the moving average's decay and warm-up, device, threads (null keeps the
    /// checkpoint's), checkpoint directory, cadence and count, and sample grid size.
    /// </summary>
    /// <param name="checkpointPath">A checkpoint written by a run.</param>
    /// <param name="data">The run's training data.</param>
    /// <param name="options">The options of the continued run.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops after the current step, writing a checkpoint.</param>
    /// <exception cref="ArgumentException">A setting that defines the run, or the data, differs from the checkpoint's; or the total is below its step.</exception>
    public static TrainingResult Resume(string checkpointPath, ITrainingData data, DdpmTrainerOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Resume(ResumePlan.Create(checkpointPath, data, options), data, progress, cancellationToken);
    }

    internal static TrainingResult Resume(ResumePlan plan, ITrainingData data, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (manifest, content) = TrainingCheckpoint.Load(plan.Path);
        using (content)
        {
            var trainer = new DdpmTrainer(plan.Options);
            var expected = trainer.ModelConfig(data);
            if (!ResumePlan.SameShape(expected, manifest.Model))
            {
                throw new ArgumentException($"The data ({data.Channels} channels, {data.ImageSize} px, {data.NumClasses?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} classes) does not fit the checkpoint's model ({manifest.Model}).", nameof(data));
            }

            using var run = new TrainingRun(trainer, data, manifest.Model);
            run.Restore(RestoredState.Read(manifest, content.Tensors, plan.Path));
            return run.Execute(progress, cancellationToken);
        }
    }

    /// <summary>The learning rate of optimiser step <paramref name="step"/> (0-based) out of <paramref name="totalSteps"/>.</summary>
    public double LearningRateAt(long step, long totalSteps)
    {
        var peak = Options.LearningRate;
        if (step < Options.WarmupSteps)
        {
            return peak * (step + 1) / Options.WarmupSteps;
        }

        if (Options.LearningRateSchedule == LearningRateSchedule.Constant || totalSteps <= Options.WarmupSteps)
        {
            return peak;
        }

        var progress = (double)(step - Options.WarmupSteps) / (totalSteps - Options.WarmupSteps);
        return peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>The model configuration for <paramref name="data"/>: the explicit one, or the preset sized to the data.</summary>
    public UNetConfig ModelConfig(ITrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int? classes = Options.ClassConditional ? data.NumClasses ?? throw new ArgumentException("ClassConditional needs labelled data.", nameof(data)) : null;
        var config = Options.Model is { } explicitConfig
            ? explicitConfig with { NumClasses = explicitConfig.NumClasses ?? classes }
            : UNetConfig.Preset(Options.ModelPreset, data.ImageSize, data.Channels, classes);
        if (config.ImageSize != data.ImageSize || config.InChannels != data.Channels)
        {
            throw new ArgumentException($"The model takes {config.InChannels}-channel {config.ImageSize} px images but the data has {data.Channels}-channel {data.ImageSize} px images.", nameof(data));
        }

        if (Options.ClassNames is { } names)
        {
            _ = ClassNameRules.Check(names, config.NumClasses);
        }

        return config.Validated();
    }

    /// <summary>Total optimiser steps for <paramref name="data"/>.</summary>
    public long TotalSteps(ITrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return TotalSteps(Options, data.Count);
    }

    /// <summary>Total optimiser steps of a run of <paramref name="options"/> on <paramref name="examples"/> examples per pass.</summary>
    internal static long TotalSteps(DdpmTrainerOptions options, long examples)
    {
        if (options.Epochs is not { } epochs)
        {
            return options.MaxSteps;
        }

        var perStep = options.ImagesPerStep;
        return ((epochs * examples) + perStep - 1) / perStep;
    }
}
