namespace MLNet.Diffusion.ModelFormat;

/// <summary>What a model zip records about the training run that produced it.</summary>
/// <param name="Steps">Optimiser steps.</param>
/// <param name="BatchSize">Effective images per step.</param>
/// <param name="FinalLoss">Mean loss of the last 100 steps (or all, if fewer).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Seconds">Wall-clock training time.</param>
/// <param name="ImagesPerSecond">Training throughput.</param>
public sealed record TrainingSummary(long Steps, int BatchSize, double FinalLoss, ulong Seed, double Seconds, double ImagesPerSecond);
