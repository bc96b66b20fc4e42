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
/// <param name="SmoothedLoss">The running average of the loss, before bias correction.</param>
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
    double SmoothedLoss,
    TimeSpan Elapsed,
    long ImagesTrained)
{
    /// <summary>Reads the state out of a checkpoint's manifest and tensors (the layout <see cref="CheckpointWriter"/> writes).</summary>
    /// <exception cref="InvalidDataException">A generator's state is missing, or the loss history is malformed; the message names the file.</exception>
    public static RestoredState Read(TrainingCheckpoint manifest, IReadOnlyDictionary<string, Tensor> tensors, string path)
    {
        var model = Prefixed(tensors, CheckpointWriter.ModelPrefix);
        var ema = Prefixed(tensors, CheckpointWriter.EmaPrefix);
        var optimizer = Prefixed(tensors, CheckpointWriter.OptimizerPrefix);
        var trainRng = tensors.TryGetValue(CheckpointWriter.TrainRngTensor, out var train) ? train : throw Missing(path, CheckpointWriter.TrainRngTensor);
        var defaultRng = tensors.TryGetValue(CheckpointWriter.DefaultRngTensor, out var global) ? global : throw Missing(path, CheckpointWriter.DefaultRngTensor);
        double[] losses = [];
        var smoothed = 0.0;
        if (tensors.TryGetValue(TrainingCheckpoint.LossHistoryTensor, out var history))
        {
            if (history.dtype != ScalarType.Float64 || history.shape.Length != 1 || history.shape[0] > manifest.Step)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"Checkpoint '{path}' has a '{TrainingCheckpoint.LossHistoryTensor}' tensor of {history.dtype} [{string.Join(", ", history.shape)}]; expected float64 [n] with n ≤ {manifest.Step}."));
            }

            losses = history.data<double>().ToArray();
            smoothed = manifest.SmoothedLoss ?? 0;
        }

        // Checkpoints of earlier versions recorded no time or image count: the run's record starts at the resume point.
        return new RestoredState(path, manifest.Step, manifest.Epoch, manifest.Position, model, ema, optimizer, trainRng, defaultRng,
            losses, smoothed, TimeSpan.FromSeconds(manifest.ElapsedSeconds ?? 0), manifest.ImagesTrained ?? 0);
    }

    /// <summary>Training images per second up to the checkpoint: <see cref="ImagesTrained"/> over <see cref="Elapsed"/>, as the run reported it.</summary>
    public double ImagesPerSecond => ImagesTrained / Math.Max(Elapsed.TotalSeconds, 1e-9);

    private static Dictionary<string, Tensor> Prefixed(IReadOnlyDictionary<string, Tensor> tensors, string prefix) =>
        tensors.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[prefix.Length..], p => p.Value);

    private static InvalidDataException Missing(string path, string name) => new($"Checkpoint '{path}' has no '{name}' tensor.");
}
