namespace MLNet.Diffusion.Training;

/// <summary>A progress report, sent after every optimiser step.</summary>
/// <param name="Step">Optimiser steps done.</param>
/// <param name="TotalSteps">Optimiser steps in the run.</param>
/// <param name="Epoch">The current pass over the data (0-based).</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="SmoothedLoss">An exponential moving average of the loss (weight 0.98 on the past, bias-corrected), carried through resumes.</param>
/// <param name="LearningRate">The learning rate used by this step.</param>
/// <param name="ImagesPerSecond">Training throughput of the run: all images trained over <paramref name="Elapsed"/>.</param>
/// <param name="Elapsed">Training time of the run so far, summed over every resumed part.</param>
/// <param name="Remaining">Estimated time to the last step, at the pace since this part (the run or its resume) started.</param>
public sealed record TrainingProgress(long Step, long TotalSteps, long Epoch, double Loss, double SmoothedLoss, double LearningRate,
    double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining);
