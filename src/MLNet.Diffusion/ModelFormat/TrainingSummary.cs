namespace MLNet.Diffusion.ModelFormat;

/// <summary>What a model zip records about the training run that produced it.</summary>
/// <param name="Steps">Optimiser steps.</param>
/// <param name="BatchSize">Effective images per step.</param>
/// <param name="FinalLoss">The run's loss statistic at its last step: the mean of the per-step loss over the last max(10, steps / 50) steps (<see cref="Training.LossWindow"/>); models saved by earlier versions recorded the mean of the last 100.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Seconds">Wall-clock training time.</param>
/// <param name="ImagesPerSecond">Training throughput.</param>
public sealed record TrainingSummary(long Steps, int BatchSize, double FinalLoss, ulong Seed, double Seconds, double ImagesPerSecond);
