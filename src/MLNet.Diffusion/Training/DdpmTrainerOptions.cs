using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Everything a <see cref="DdpmTrainer"/> run is configured by. Defaults follow DDPM where it has one. Not sealed: the
/// ML.NET trainer's <see cref="DiffusionTrainer.Options"/> adds its column names to these settings.
/// </summary>
public record DdpmTrainerOptions
{
    /// <summary>The model preset used when <see cref="Model"/> is null: tiny, small or ddpm-cifar10. Default small.</summary>
    public string ModelPreset { get; init; } = "small";

    /// <summary>An explicit model configuration; null builds <see cref="ModelPreset"/> for the data's size and channels.</summary>
    public UNetConfig? Model { get; init; }

    /// <summary>The noise schedule. Default: linear over 1000 steps.</summary>
    public NoiseScheduleOptions Schedule { get; init; } = new();

    /// <summary>What the network predicts. Default ε.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>Timestep weighting of the loss. Default uniform.</summary>
    public LossWeighting LossWeighting { get; init; } = LossWeighting.Uniform;

    /// <summary>γ of min-SNR weighting. Default 5.</summary>
    public double MinSnrGamma { get; init; } = 5;

    /// <summary>Images per forward pass. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Forward passes whose gradients are summed per optimiser step (effective batch = BatchSize × this). Default 1.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    // Images per optimiser step, in 64 bits so that a product of two ints cannot wrap.
    internal long ImagesPerStep => (long)BatchSize * GradientAccumulationSteps;

    /// <summary>Optimiser steps to train for. Default 10,000. Ignored when <see cref="Epochs"/> is set.</summary>
    public long MaxSteps { get; init; } = 10_000;

    /// <summary>Passes over the data to train for, rounded up to whole optimiser steps; null uses <see cref="MaxSteps"/>.</summary>
    public int? Epochs { get; init; }

    /// <summary>Peak learning rate. Default 2e-4 (DDPM's CIFAR-10 rate).</summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>AdamW's decoupled weight decay. Default 0 (DDPM used plain Adam).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Steps of linear warm-up from 0 to the peak rate. Default 500.</summary>
    public int WarmupSteps { get; init; } = 500;

    /// <summary>The rate after warm-up. Default constant.</summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>The largest gradient norm (0 turns clipping off). Default 1 (DDPM).</summary>
    public double GradientClipNorm { get; init; } = 1;

    /// <summary>Decay of the exponential moving average of the weights. Default 0.9999 (DDPM).</summary>
    public double EmaDecay { get; init; } = 0.9999;

    /// <summary>Warm the EMA decay up as min(decay, (1 + n)/(10 + n)) after n updates, so short runs still average. Default true.</summary>
    public bool EmaWarmup { get; init; } = true;

    /// <summary>Train a class-conditional model when the data has labels. Default false.</summary>
    public bool ClassConditional { get; init; }

    /// <summary>The probability of replacing a label by the null label, which trains the unconditional model guidance needs. Default 0.1.</summary>
    public double LabelDropout { get; init; } = 0.1;

    /// <summary>
    /// Flip each training image left to right with probability ½ (DDPM's CIFAR-10 augmentation), drawn from the run's own
    /// generator so that resuming stays exact. Default false (and then nothing is drawn).
    /// </summary>
    public bool RandomHorizontalFlip { get; init; }

    /// <summary>
    /// The seed of everything random: initial weights, data order, timesteps, noise, dropout. Null (the default) means 0 for
    /// <see cref="DdpmTrainer"/>, and a seed drawn from the <c>MLContext</c>'s random source for the ML.NET trainer
    /// (<c>mlContext.Diffusion().Train</c>), so <c>new MLContext(seed: 1)</c> trains reproducibly.
    /// </summary>
    public ulong? Seed { get; init; }

    /// <summary>cpu, cuda, cuda:N or auto. Default auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// Intra-op CPU threads for this run (libtorch's <c>set_num_threads</c>, which is process-wide), ≥ 1; null keeps
    /// the process's setting (libtorch's default: one per physical core). The count is part of what makes a CPU run
    /// bit-exact, so the checkpoint records the count the run used and a resumed run uses it again. Default null.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>Where checkpoints (and sample grids) are written; null writes none.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Write a checkpoint every this many optimiser steps (and always at the end). Default 1000.</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>How many checkpoints to keep; older ones are deleted. Default 3.</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>
    /// Images in the sample grid written beside each checkpoint (<c>samples-00001000.png</c>: DDIM, 50 steps, from the
    /// moving average, fixed seeds; class-conditional grids cycle through the classes). 0 writes none. Default 16.
    /// </summary>
    public int SampleGridSize { get; init; } = 16;

    /// <summary>
    /// How the training values were made from 8-bit images (ML.NET's ExtractPixels does not record it), so that a model or a
    /// checkpoint can turn generated values back into pixels; recorded in checkpoints. Its range must be [−1, 1]. Null (the
    /// default): offset 127.5, scale 1/127.5, RGB or gray by the channel count.
    /// </summary>
    public PixelEncoding? PixelEncoding { get; init; }

    /// <summary>
    /// The name of each class, by index (a class-conditional run's label key values: image sub-folders, Fashion-MNIST's names), recorded
    /// in checkpoints and in the model so that <c>--label</c> and the report can use names. One distinct, non-empty name per class, none
    /// "-1". Null (the default): the classes are numbered only.
    /// </summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>
    /// Files of the data that this run leaves out, each as its path relative to the data's folder: for example the images that
    /// could not be decoded (<c>mlnet-diffusion train --skip-bad-images</c>; <c>LoadImageFolder(..., excludedFiles: ...)</c> leaves them
    /// out). The trainer reads no file: it records the list in checkpoints so that whoever resumes the run can load the same rows, and a
    /// resumed run must give the same files (in any order). Null or empty (the default): none.
    /// </summary>
    public IReadOnlyList<string>? ExcludedFiles { get; init; }

    /// <summary>
    /// Evaluate the moving-average model every this many steps (and at the last step), 0 (the default) for never: KID of
    /// <see cref="EvaluationCount"/> generated images (seeds 0, 1, …; DPM-Solver++ 20 steps; labels cycling through the classes)
    /// against as many training images (a fixed random subset), through <see cref="EvaluationFeatures"/>. The curve goes into
    /// <see cref="TrainingResult.Evaluations"/>, checkpoints and the report; with <see cref="CheckpointDirectory"/> set, the model
    /// of the lowest KID so far is written there as <c>best.zip</c> (a model file, never pruned). Evaluation changes nothing in
    /// the run: the same seed gives the same weights with it on or off, and resuming stays exact.
    /// </summary>
    public int EvaluateEvery { get; init; }

    /// <summary>Images generated (and training images compared) at each evaluation, at least 4. Default 500.</summary>
    public int EvaluationCount { get; init; } = 500;

    /// <summary>
    /// The feature network of the evaluations: <see cref="Metrics.EvaluationFeatures.Auto"/> takes the Fashion-MNIST network
    /// for 28×28 grayscale models and ResNet-18 (the MLNet.Diffusion.Evaluation package) otherwise.
    /// </summary>
    public Metrics.EvaluationFeatures EvaluationFeatures { get; init; }

    /// <summary>Checks every setting; throws an <see cref="ArgumentException"/> naming the first that is out of range.</summary>
    public DdpmTrainerOptions Validated()
    {
        Check(BatchSize >= 1, nameof(BatchSize), "≥ 1", BatchSize);
        Check(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), "≥ 1", GradientAccumulationSteps);
        Check(MaxSteps >= 1, nameof(MaxSteps), "≥ 1", MaxSteps);
        Check(Epochs is null or >= 1, nameof(Epochs), "≥ 1 or null", Epochs);
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), "a finite number > 0", LearningRate);
        Check(WeightDecay >= 0, nameof(WeightDecay), "≥ 0", WeightDecay);
        Check(WarmupSteps >= 0, nameof(WarmupSteps), "≥ 0", WarmupSteps);
        Check(GradientClipNorm >= 0, nameof(GradientClipNorm), "≥ 0", GradientClipNorm);
        Check(EmaDecay is >= 0 and < 1, nameof(EmaDecay), "in [0, 1)", EmaDecay);
        Check(LabelDropout is >= 0 and < 1, nameof(LabelDropout), "in [0, 1)", LabelDropout);
        Check(CheckpointEvery >= 1, nameof(CheckpointEvery), "≥ 1", CheckpointEvery);
        Check(KeepCheckpoints >= 1, nameof(KeepCheckpoints), "≥ 1", KeepCheckpoints);
        Check(SampleGridSize is >= 0 and <= 256, nameof(SampleGridSize), "in [0, 256]", SampleGridSize);
        Check(EvaluateEvery >= 0, nameof(EvaluateEvery), "≥ 0 (0: no evaluation)", EvaluateEvery);
        Check(EvaluationCount >= 4, nameof(EvaluationCount), "≥ 4", EvaluationCount);
        Check(Enum.IsDefined(EvaluationFeatures), nameof(EvaluationFeatures), "Auto, FashionMnist or ResNet18", EvaluationFeatures);
        _ = Devices.Parse(Device);
        Check(Threads is null or >= 1, nameof(Threads), "≥ 1 (or null for the process's setting)", Threads ?? 0);
        Check(ExcludedFiles is null || ExcludedFiles.All(f => !string.IsNullOrWhiteSpace(f)), nameof(ExcludedFiles), "a list of file paths, none empty",
            ExcludedFiles is null ? null : string.Join(", ", ExcludedFiles.Select(f => $"'{f}'")));
        if (Model is null)
        {
            _ = UNetConfig.Preset(ModelPreset);
        }

        return this;
    }

    private static void Check(bool condition, string name, string accepted, object? value)
    {
        if (!condition)
        {
            throw new ArgumentException($"DdpmTrainer option {name} must be {accepted}; got {value}.", name);
        }
    }
}
