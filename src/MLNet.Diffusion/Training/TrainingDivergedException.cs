namespace MLNet.Diffusion.Training;

/// <summary>Training produced a non-finite loss; the checkpoints written before it are kept.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for optimiser step <paramref name="step"/> (1-based).</summary>
    public TrainingDivergedException(long step, double loss, string? lastCheckpoint)
        : base($"Training diverged at step {step}: the loss is {loss}. " +
               (lastCheckpoint is null ? "No checkpoint was written yet. " : $"The last good checkpoint is '{lastCheckpoint}'. ") +
               "Lower the learning rate, enable gradient clipping, or check the data for NaN or infinite values.")
    {
        Step = step;
        Loss = loss;
        LastCheckpoint = lastCheckpoint;
    }

    /// <summary>Creates the exception with a message.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException()
        : base("Training diverged.")
    {
    }

    /// <summary>The optimiser step (1-based) whose loss was not finite.</summary>
    public long Step { get; }

    /// <summary>The loss value (NaN or infinite).</summary>
    public double Loss { get; }

    /// <summary>The path of the last checkpoint written before the failure, or null.</summary>
    public string? LastCheckpoint { get; }
}
