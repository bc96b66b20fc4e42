using System.Globalization;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// What a resume restores from a checkpoint: where the run stood, the state of its network, moving average, optimiser and
/// generators, and its record so far. The tensors are the checkpoint's; whoever loaded them disposes them.
/// </summary>
/// <param name="Path">The checkpoint resumed from.</param>
/// <param name="Step">Optimiser steps taken.</param>
/// <param name="Epoch">The pass over the data the run is in.</param>
/// <param name="Position">Examples of that pass already used.</param>
/// <param name="Model">The network's state dict.</param>
/// <param name="Ema">The moving average's state dict.</param>
/// <param name="Optimizer">The optimiser's state, as <see cref="AdamWState.Save"/> wrote it.</param>
/// <param name="TrainRng">The state of the run's own generator (timesteps, noise, flips, label dropout).</param>
/// <param name="DefaultRng">The state of TorchSharp's default generator (dropout).</param>
/// <param name="Losses">The loss of every step so far; empty for checkpoints that did not record it.</param>
/// <param name="LearningRates">The learning rate of each step of <paramref name="Losses"/>; NaN where the checkpoint did not record it.</param>
/// <param name="Elapsed">Training time before the resume point.</param>
/// <param name="ImagesTrained">Images trained on before the resume point.</param>
internal sealed record RestoredState(
    string Path,
    long Step,
    long Epoch,
    long Position,
    IReadOnlyDictionary<string, Tensor> Model,
    IReadOnlyDictionary<string, Tensor> Ema,
    IReadOnlyDictionary<string, Tensor> Optimizer,
    Tensor TrainRng,
    Tensor DefaultRng,
    IReadOnlyList<double> Losses,
    IReadOnlyList<double> LearningRates,
    TimeSpan Elapsed,
    long ImagesTrained)
{
    /// <summary>The evaluation curve up to the checkpoint (empty when the run made none).</summary>
    public IReadOnlyList<TrainingEvaluation> Evaluations { get; init; } = [];

    /// <summary>The images per evaluation and the feature network of <see cref="Evaluations"/>: a curve continues only with both unchanged.</summary>
    public (int Count, Metrics.EvaluationFeatures Features) EvaluationSettings { get; init; }

    /// <summary>Reads the state out of a checkpoint's manifest and tensors (the layout <see cref="CheckpointWriter"/> writes).</summary>
    /// <exception cref="InvalidDataException">A generator's state is missing, or the loss history is malformed; the message names the file.</exception>
    public static RestoredState Read(TrainingCheckpoint manifest, IReadOnlyDictionary<string, Tensor> tensors, string path)
    {
        var model = Prefixed(tensors, CheckpointWriter.ModelPrefix);
        var ema = Prefixed(tensors, CheckpointWriter.EmaPrefix);
        var optimizer = Prefixed(tensors, CheckpointWriter.OptimizerPrefix);
        var trainRng = tensors.TryGetValue(CheckpointWriter.TrainRngTensor, out var train) ? train : throw Missing(path, CheckpointWriter.TrainRngTensor);
        var defaultRng = tensors.TryGetValue(CheckpointWriter.DefaultRngTensor, out var global) ? global : throw Missing(path, CheckpointWriter.DefaultRngTensor);
        var losses = History(tensors, TrainingCheckpoint.LossHistoryTensor, manifest.Step, path) ?? [];
        var learningRates = History(tensors, TrainingCheckpoint.LearningRateHistoryTensor, losses.Length, path) is { } rates && rates.Length == losses.Length
            ? rates
            : Enumerable.Repeat(double.NaN, losses.Length).ToArray();

        // Checkpoints of earlier versions recorded no time or image count: the run's record starts at the resume point.
        return new RestoredState(path, manifest.Step, manifest.Epoch, manifest.Position, model, ema, optimizer, trainRng, defaultRng,
            losses, learningRates, TimeSpan.FromSeconds(manifest.ElapsedSeconds ?? 0), manifest.ImagesTrained ?? 0)
        {
            Evaluations = manifest.Evaluations ?? [],
            EvaluationSettings = (manifest.Options.EvaluationCount, manifest.Options.EvaluationFeatures),
        };
    }

    // A float64 [n] history tensor with n ≤ max, or null when the checkpoint has none.
    private static double[]? History(IReadOnlyDictionary<string, Tensor> tensors, string name, long max, string path)
    {
        if (!tensors.TryGetValue(name, out var history))
        {
            return null;
        }

        if (history.dtype != ScalarType.Float64 || history.shape.Length != 1 || history.shape[0] > max)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Checkpoint '{path}' has a '{name}' tensor of {history.dtype} [{string.Join(", ", history.shape)}]; expected float64 [n] with n ≤ {max}."));
        }

        return history.data<double>().ToArray();
    }

    /// <summary>Training images per second up to the checkpoint: <see cref="ImagesTrained"/> over <see cref="Elapsed"/>, as the run reported it.</summary>
    public double ImagesPerSecond => ImagesTrained / Math.Max(Elapsed.TotalSeconds, 1e-9);

    private static Dictionary<string, Tensor> Prefixed(IReadOnlyDictionary<string, Tensor> tensors, string prefix) =>
        tensors.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[prefix.Length..], p => p.Value);

    private static InvalidDataException Missing(string path, string name) => new($"Checkpoint '{path}' has no '{name}' tensor.");
}
