namespace MLNet.Diffusion.Training;

/// <summary>The learning rate after the linear warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant at the peak rate (DDPM). The default.</summary>
    Constant,

    /// <summary>Cosine decay from the peak rate to zero at the last step.</summary>
    Cosine,
}
