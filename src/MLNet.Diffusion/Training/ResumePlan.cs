using System.Globalization;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Training;

/// <summary>
/// What a resumed run will be: the checkpoint's options with the asked-for changes applied, once it is checked that nothing
/// that defines the run changes. Settings fall in two kinds:
/// <list type="bullet">
/// <item>fixed, what is trained and on what: the model (preset or configuration), the noise schedule, the prediction type,
/// the loss weighting (and its γ), class conditioning (and its label dropout), the batch size and gradient accumulation,
/// horizontal flipping, the seed, and the data (image size, channels, classes, examples per pass, the files left out);</item>
/// <item>changeable, how and how long it is optimised and where it writes: total steps (or epochs), learning rate, warm-up and
/// its schedule, weight decay, gradient clipping, the moving average's decay and warm-up, device, threads, checkpoint
/// directory, cadence and count, sample grid size, and evaluation (its interval, count and feature network; a new count or
/// network starts the curve again).</item>
/// </list>
/// A fixed setting given with another value than the checkpoint's is refused, all of them in one error, before anything is loaded.
/// </summary>
internal sealed record ResumePlan(string Path, TrainingCheckpoint Checkpoint, DdpmTrainerOptions Options, IReadOnlyList<string> Changes)
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    // Every changeable setting, read the same way from the checkpoint's options and the given ones.
    private static readonly (string Name, Func<DdpmTrainerOptions, object?> Get)[] s_changeable =
    [
        (nameof(DdpmTrainerOptions.MaxSteps), o => o.MaxSteps),
        (nameof(DdpmTrainerOptions.Epochs), o => o.Epochs),
        (nameof(DdpmTrainerOptions.LearningRate), o => o.LearningRate),
        (nameof(DdpmTrainerOptions.WarmupSteps), o => o.WarmupSteps),
        (nameof(DdpmTrainerOptions.LearningRateSchedule), o => o.LearningRateSchedule),
        (nameof(DdpmTrainerOptions.WeightDecay), o => o.WeightDecay),
        (nameof(DdpmTrainerOptions.GradientClipNorm), o => o.GradientClipNorm),
        (nameof(DdpmTrainerOptions.EmaDecay), o => o.EmaDecay),
        (nameof(DdpmTrainerOptions.EmaWarmup), o => o.EmaWarmup),
        (nameof(DdpmTrainerOptions.Device), o => o.Device),
        (nameof(DdpmTrainerOptions.Threads), o => o.Threads),
        (nameof(DdpmTrainerOptions.CheckpointDirectory), o => o.CheckpointDirectory),
        (nameof(DdpmTrainerOptions.CheckpointEvery), o => o.CheckpointEvery),
        (nameof(DdpmTrainerOptions.KeepCheckpoints), o => o.KeepCheckpoints),
        (nameof(DdpmTrainerOptions.SampleGridSize), o => o.SampleGridSize),
        (nameof(DdpmTrainerOptions.EvaluateEvery), o => o.EvaluateEvery),
        (nameof(DdpmTrainerOptions.EvaluationCount), o => o.EvaluationCount),
        (nameof(DdpmTrainerOptions.EvaluationFeatures), o => o.EvaluationFeatures),
    ];

    /// <summary>
    /// Plans resuming the checkpoint <paramref name="path"/> on <paramref name="data"/>, reading only its manifest.
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="data">The run's data.</param>
    /// <param name="given">
    /// The run's options in full (as a new run would be given them): fixed settings must equal the checkpoint's (a null
    /// <see cref="DdpmTrainerOptions.Seed"/> or <see cref="DdpmTrainerOptions.Threads"/> keeps the checkpoint's), changeable ones
    /// replace them. Null keeps the checkpoint's options, writing further checkpoints beside the one resumed from.
    /// </param>
    /// <param name="maxSteps">With <paramref name="given"/> null, a new total of steps; null keeps the run's.</param>
    /// <exception cref="ArgumentException">A fixed setting or the data differs from the checkpoint's (every difference is named), or the total is below the checkpoint's step.</exception>
    internal static ResumePlan Create(string path, ITrainingData data, DdpmTrainerOptions? given, long? maxSteps = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var checkpoint = TrainingCheckpoint.Read(path);
        var stored = checkpoint.Options with { Threads = checkpoint.Options.Threads ?? checkpoint.Threads };
        var conflicts = new List<string>();
        DdpmTrainerOptions options;
        if (given is null)
        {
            // The directory recorded may be relative to another working directory: the run goes on where its checkpoint is.
            options = stored with { CheckpointDirectory = stored.CheckpointDirectory is null ? null : FolderOf(path) };
            options = maxSteps is { } steps ? options with { MaxSteps = steps, Epochs = null } : options;
        }
        else
        {
            _ = given.Validated();
            FixedConflicts(stored, given, conflicts);
            options = stored with
            {
                MaxSteps = given.MaxSteps,
                Epochs = given.Epochs,
                LearningRate = given.LearningRate,
                WarmupSteps = given.WarmupSteps,
                LearningRateSchedule = given.LearningRateSchedule,
                WeightDecay = given.WeightDecay,
                GradientClipNorm = given.GradientClipNorm,
                EmaDecay = given.EmaDecay,
                EmaWarmup = given.EmaWarmup,
                Device = given.Device,
                Threads = given.Threads ?? stored.Threads,
                CheckpointDirectory = given.CheckpointDirectory,
                CheckpointEvery = given.CheckpointEvery,
                KeepCheckpoints = given.KeepCheckpoints,
                SampleGridSize = given.SampleGridSize,
                EvaluateEvery = given.EvaluateEvery,
                EvaluationCount = given.EvaluationCount,
                EvaluationFeatures = given.EvaluationFeatures,

                // What the data means: a checkpoint of an earlier version recorded neither, and then the given ones describe it.
                PixelEncoding = stored.PixelEncoding ?? given.PixelEncoding,
                ClassNames = stored.ClassNames ?? given.ClassNames,
            };
        }

        DataConflicts(checkpoint, data, conflicts);
        if (conflicts.Count > 0)
        {
            throw new ArgumentException(
                $"Cannot resume '{path}': {string.Join("; ", conflicts)}. What defines a run (model, schedule, prediction, loss, conditioning, " +
                "batch, augmentation, seed, data and what it means: files left out, pixel encoding, class names) cannot change when it resumes: keep these as the checkpoint has them " +
                "(TrainingCheckpoint.Read(path).Options), or start a new run.",
                given is null ? nameof(data) : "options");
        }

        var total = new DdpmTrainer(options).TotalSteps(data);
        if (total < checkpoint.Step)
        {
            throw new ArgumentException(string.Create(s_invariant,
                $"Cannot resume '{path}' for {total} steps in all: the run has done {checkpoint.Step} already. Ask for at least {checkpoint.Step}."),
                given is null ? nameof(maxSteps) : "options");
        }

        var changes = s_changeable
            .Where(c => !Equals(c.Get(stored), c.Get(options)))
            .Select(c => $"{c.Name} {Format(c.Get(stored))} → {Format(c.Get(options))}")
            .ToList();
        return new ResumePlan(path, checkpoint, options, changes);
    }

    /// <summary>Whether two model configurations are the same (their lists compared element by element).</summary>
    internal static bool SameShape(UNetConfig a, UNetConfig b) =>
        a with { ChannelMultipliers = [], AttentionResolutions = [] } == b with { ChannelMultipliers = [], AttentionResolutions = [] }
        && a.ChannelMultipliers.SequenceEqual(b.ChannelMultipliers) && a.AttentionResolutions.SequenceEqual(b.AttentionResolutions);

    private static void FixedConflicts(DdpmTrainerOptions stored, DdpmTrainerOptions given, List<string> conflicts)
    {
        void Check(string name, object? storedValue, object? givenValue)
        {
            if (!Equals(storedValue, givenValue))
            {
                conflicts.Add($"{name} is {Format(storedValue)} in the checkpoint but {Format(givenValue)} in the options");
            }
        }

        if (stored.Model is null && given.Model is null)
        {
            Check(nameof(DdpmTrainerOptions.ModelPreset), stored.ModelPreset, given.ModelPreset);
        }
        else if (stored.Model is null || given.Model is null || !SameShape(stored.Model, given.Model))
        {
            Check(nameof(DdpmTrainerOptions.Model), stored.Model?.ToString() ?? $"null (preset {stored.ModelPreset})", given.Model?.ToString() ?? $"null (preset {given.ModelPreset})");
        }

        if (!SameSchedule(stored.Schedule, given.Schedule))
        {
            Check(nameof(DdpmTrainerOptions.Schedule), Describe(stored.Schedule), Describe(given.Schedule));
        }

        Check(nameof(DdpmTrainerOptions.PredictionType), stored.PredictionType, given.PredictionType);
        Check(nameof(DdpmTrainerOptions.LossWeighting), stored.LossWeighting, given.LossWeighting);
        if (stored.LossWeighting == LossWeighting.MinSnr && given.LossWeighting == LossWeighting.MinSnr)
        {
            Check(nameof(DdpmTrainerOptions.MinSnrGamma), stored.MinSnrGamma, given.MinSnrGamma);
        }

        Check(nameof(DdpmTrainerOptions.ClassConditional), stored.ClassConditional, given.ClassConditional);
        if (stored.ClassConditional && given.ClassConditional)
        {
            Check(nameof(DdpmTrainerOptions.LabelDropout), stored.LabelDropout, given.LabelDropout);
        }

        Check(nameof(DdpmTrainerOptions.BatchSize), stored.BatchSize, given.BatchSize);
        Check(nameof(DdpmTrainerOptions.GradientAccumulationSteps), stored.GradientAccumulationSteps, given.GradientAccumulationSteps);
        Check(nameof(DdpmTrainerOptions.RandomHorizontalFlip), stored.RandomHorizontalFlip, given.RandomHorizontalFlip);
        if (stored.PixelEncoding is not null && given.PixelEncoding is not null)
        {
            Check(nameof(DdpmTrainerOptions.PixelEncoding), stored.PixelEncoding, given.PixelEncoding);
        }

        if (stored.ClassNames is { } storedNames && given.ClassNames is { } givenNames && !storedNames.SequenceEqual(givenNames, StringComparer.Ordinal))
        {
            Check(nameof(DdpmTrainerOptions.ClassNames), string.Join(", ", storedNames), string.Join(", ", givenNames));
        }

        // The rows: the same files left out (null and empty both mean none; the order the list is written in does not matter).
        var (storedFiles, givenFiles) = (Sorted(stored.ExcludedFiles), Sorted(given.ExcludedFiles));
        if (!storedFiles.SequenceEqual(givenFiles, StringComparer.Ordinal))
        {
            Check(nameof(DdpmTrainerOptions.ExcludedFiles), Files(storedFiles), Files(givenFiles));
        }

        if (given.Seed is { } seed)
        {
            Check(nameof(DdpmTrainerOptions.Seed), stored.Seed ?? 0, seed);
        }
    }

    private static void DataConflicts(TrainingCheckpoint checkpoint, ITrainingData data, List<string> conflicts)
    {
        var model = checkpoint.Model;
        if (model.ImageSize != data.ImageSize || model.InChannels != data.Channels)
        {
            conflicts.Add(string.Create(s_invariant,
                $"the data has {data.Channels}-channel {data.ImageSize} px images but the run's model takes {model.InChannels}-channel {model.ImageSize} px images"));
        }

        if (model.NumClasses is { } classes && data.NumClasses != classes)
        {
            conflicts.Add(string.Create(s_invariant,
                $"the data has {(data.NumClasses is { } n ? $"{n} classes" : "no labels")} but the run's model has {classes} classes"));
        }

        if (checkpoint.ExampleCount is { } count && count != data.Count)
        {
            conflicts.Add(string.Create(s_invariant,
                $"the data has {data.Count} examples but the run had {count} (with the seed, the count decides the data order)"));
        }
    }

    private static string[] Sorted(IReadOnlyList<string>? files) => [.. (files ?? []).Order(StringComparer.Ordinal)];

    private static string Files(string[] files) => files.Length == 0 ? "none" : string.Join(", ", files.Select(f => $"'{f}'"));

    private static bool SameSchedule(NoiseScheduleOptions a, NoiseScheduleOptions b) =>
        a with { Betas = null } == b with { Betas = null } && (a.Betas ?? []).SequenceEqual(b.Betas ?? []);

    private static string Describe(NoiseScheduleOptions schedule) =>
        (schedule with { Betas = null }).ToString() + (schedule.Betas is { } betas ? string.Create(s_invariant, $" with {betas.Count} custom betas") : string.Empty);

    private static string FolderOf(string path) => System.IO.Path.GetDirectoryName(path) is { Length: > 0 } folder ? folder : ".";

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => s,
        double d => d.ToString("G", s_invariant),
        IFormattable f => f.ToString(null, s_invariant),
        _ => value.ToString() ?? "null",
    };
}
