using MLNet.Diffusion.Models;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Training;

/// <summary>What a training run produced. Disposing it disposes both models.</summary>
public sealed class TrainingResult : IDisposable
{
    internal TrainingResult(UNet2D model, UNet2D emaModel, NoiseSchedule schedule, DdpmTrainerOptions options, long steps,
        IReadOnlyList<double> losses, string? lastCheckpoint, bool completed, TimeSpan elapsed, double imagesPerSecond)
    {
        Model = model;
        EmaModel = emaModel;
        Schedule = schedule;
        Options = options;
        Steps = steps;
        Losses = losses;
        LastCheckpoint = lastCheckpoint;
        Completed = completed;
        Elapsed = elapsed;
        ImagesPerSecond = imagesPerSecond;
    }

    /// <summary>The trained network (the raw weights of the last step).</summary>
    public UNet2D Model { get; }

    /// <summary>A copy of the network with the moving-average weights: the one to sample from.</summary>
    public UNet2D EmaModel { get; }

    /// <summary>The noise schedule the network was trained with.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The options of the run.</summary>
    public DdpmTrainerOptions Options { get; }

    /// <summary>Optimiser steps completed (including those before a resume).</summary>
    public long Steps { get; }

    /// <summary>
    /// The loss of each step of the run, from step 1, through every resume (a run resumed from a checkpoint of an earlier
    /// version, which recorded no losses, has them from its resume point: the first is that of step <see cref="Steps"/> − count + 1).
    /// </summary>
    public IReadOnlyList<double> Losses { get; }

    /// <summary>
    /// The learning rate of each step of <see cref="Losses"/>, aligned with it; NaN for steps before a resume from a checkpoint
    /// that did not record rates.
    /// </summary>
    public IReadOnlyList<double> LearningRates { get; init; } = [];

    /// <summary>The run's evaluation curve (<see cref="DdpmTrainerOptions.EvaluateEvery"/>), the restored part included; empty when it made none.</summary>
    public IReadOnlyList<TrainingEvaluation> Evaluations { get; init; } = [];

    /// <summary>The steps the run was set to take (<see cref="Steps"/> when it completed).</summary>
    public long TotalSteps { get; init; }

    /// <summary>The device the last part of the run trained on (what <see cref="DdpmTrainerOptions.Device"/> resolved to): cpu, cuda:0, ...</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>libtorch's intra-op CPU thread count at the end of the run.</summary>
    public int Threads { get; init; }

    /// <summary>The steps <see cref="FinalLoss"/> averages: <see cref="LossWindow.Size"/> of <see cref="TotalSteps"/>.</summary>
    public int LossWindowSize => LossWindow.Size(Math.Max(TotalSteps, Steps));

    /// <summary>The run's loss statistic at its last step: the mean of the last <see cref="LossWindowSize"/> losses (NaN with none).</summary>
    public double FinalLoss => LossWindow.Mean(Losses, LossWindowSize);

    /// <summary>The last checkpoint written, or null.</summary>
    public string? LastCheckpoint { get; }

    /// <summary>False when the run was cancelled before its last step.</summary>
    public bool Completed { get; }

    /// <summary>Training time of the run, summed over every resumed part (time after the last checkpoint of an interrupted part is not counted).</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Training images per second over the run: all images trained over <see cref="Elapsed"/>.</summary>
    public double ImagesPerSecond { get; }

    /// <summary>Disposes both models.</summary>
    public void Dispose()
    {
        Model.Dispose();
        EmaModel.Dispose();
    }
}
