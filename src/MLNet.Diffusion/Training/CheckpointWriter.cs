using MLNet.Diffusion.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Writes a run's checkpoints into one directory, and keeps only the newest of them. A checkpoint holds the network, the
/// moving average and the optimiser under the prefixes below, both generators' states and the loss and learning-rate histories, so that
/// <see cref="RestoredState.Read"/> resumes the run exactly.
/// </summary>
/// <param name="directory">The checkpoint directory.</param>
/// <param name="keep">How many checkpoints to keep.</param>
internal sealed class CheckpointWriter(string directory, int keep)
{
    /// <summary>The prefix of the network's state-dict keys.</summary>
    public const string ModelPrefix = "model.";

    /// <summary>The prefix of the moving average's state-dict keys.</summary>
    public const string EmaPrefix = "ema.";

    /// <summary>The prefix of the optimiser's state keys.</summary>
    public const string OptimizerPrefix = "optimizer.";

    /// <summary>The tensor holding the state of the run's own generator.</summary>
    public const string TrainRngTensor = "rng.train";

    /// <summary>The tensor holding the state of TorchSharp's default generator.</summary>
    public const string DefaultRngTensor = "rng.default";

    /// <summary>The checkpoint directory.</summary>
    public string DirectoryPath { get; } = directory;

    /// <summary>Writes the checkpoint of <see cref="TrainingCheckpoint.Step"/>; returns its path.</summary>
    /// <remarks>Tensors made here go to the caller's dispose scope.</remarks>
    public string Write(TrainingCheckpoint manifest, UNet2D model, AdamW optimizer, ExponentialMovingAverage ema, Generator trainRng, Generator defaultRng,
        IReadOnlyList<double> losses, IReadOnlyList<double> learningRates)
    {
        Directory.CreateDirectory(DirectoryPath);
        var path = TrainingCheckpoint.PathFor(DirectoryPath, manifest.Step);
        using var optimizerState = new DisposableDictionary(AdamWState.Save(optimizer));
        var tensors = model.state_dict().Select(p => KeyValuePair.Create(ModelPrefix + p.Key, p.Value.to(torch.CPU)))
            .Concat(ema.StateDict().Select(p => KeyValuePair.Create(EmaPrefix + p.Key, p.Value.to(torch.CPU))))
            .Concat(optimizerState.Values.Select(p => KeyValuePair.Create(OptimizerPrefix + p.Key, p.Value.to(torch.CPU))))
            .Append(KeyValuePair.Create(TrainRngTensor, trainRng.get_state()))
            .Append(KeyValuePair.Create(DefaultRngTensor, defaultRng.get_state()))
            .Append(KeyValuePair.Create(TrainingCheckpoint.LossHistoryTensor, torch.tensor(losses.ToArray(), ScalarType.Float64)))
            .Append(KeyValuePair.Create(TrainingCheckpoint.LearningRateHistoryTensor, torch.tensor(learningRates.ToArray(), ScalarType.Float64)))
            .ToList();
        TrainingCheckpoint.Save(path, manifest, tensors);
        return path;
    }

    /// <summary>Deletes all but the newest checkpoints.</summary>
    public void Prune()
    {
        foreach (var old in TrainingCheckpoint.List(DirectoryPath).SkipLast(keep))
        {
            File.Delete(old);
        }
    }

    private sealed class DisposableDictionary(Dictionary<string, Tensor> values) : IDisposable
    {
        public Dictionary<string, Tensor> Values { get; } = values;

        public void Dispose()
        {
            foreach (var t in Values.Values)
            {
                t.Dispose();
            }
        }
    }
}
