namespace MLNet.Diffusion.ForwardProcess;

/// <summary>What the network is trained to predict from (x_t, t).</summary>
public enum PredictionType
{
    /// <summary>The noise ε that was added (Ho et al. 2020). The default.</summary>
    Epsilon,

    /// <summary>The clean sample x₀.</summary>
    Sample,

    /// <summary>The velocity v = √ᾱ_t·ε − √(1 − ᾱ_t)·x₀ (Salimans &amp; Ho 2022).</summary>
    VPrediction,
}
