namespace MLNet.Diffusion.Training;

/// <summary>A progress report, sent after every optimiser step.</summary>
/// <param name="Step">Optimiser steps done.</param>
/// <param name="TotalSteps">Optimiser steps in the run.</param>
/// <param name="Epoch">The current pass over the data (0-based).</param>
/// <param name="Loss">This step's loss (the objective's weighted mean squared error over the batch).</param>
/// <param name="MeanLoss">
/// The run's loss statistic: the mean of the per-step loss over the last <paramref name="LossWindow"/> steps
/// (<see cref="Training.LossWindow"/>), through resumes; the value the console, the report and the model's summary show.
/// </param>
/// <param name="LearningRate">The learning rate used by this step.</param>
/// <param name="ImagesPerSecond">Training throughput of the run: all images trained over <paramref name="Elapsed"/>.</param>
/// <param name="Elapsed">Training time of the run so far, summed over every resumed part.</param>
/// <param name="Remaining">Estimated time to the last step, at the pace since this part (the run or its resume) started.</param>
/// <param name="LossWindow">The steps <paramref name="MeanLoss"/> averages: max(10, <paramref name="TotalSteps"/> / 50).</param>
public sealed record TrainingProgress(long Step, long TotalSteps, long Epoch, double Loss, double MeanLoss, double LearningRate,
    double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining, int LossWindow)
{
    /// <summary>
    /// A line for the run's log, on a report of its own (the other values repeat the last step's): the cost of evaluation
    /// before the first (with a warning when it would take more than a quarter of the time), and each evaluation's KID.
    /// Null on the per-step reports.
    /// </summary>
    public string? Message { get; init; }
}
