namespace MLNet.Diffusion.Training;

/// <summary>One point of a run's evaluation curve (<see cref="DdpmTrainerOptions.EvaluateEvery"/>).</summary>
/// <param name="Step">The optimiser step after which the moving-average model was evaluated.</param>
/// <param name="Kid">KID of its generated images against the run's fixed set of training images (lower is better).</param>
/// <param name="KidStandardDeviation">KID's standard deviation over its subsets.</param>
/// <param name="Seconds">The wall-clock time of the evaluation.</param>
public sealed record TrainingEvaluation(long Step, double Kid, double KidStandardDeviation, double Seconds);
