using MLNet.Diffusion.Schedulers;

namespace MLNet.Diffusion;

/// <summary>The samplers a <see cref="DiffusionModel"/> generates with.</summary>
public enum SamplerKind
{
    /// <summary>DPM-Solver++(2M): good images in 10–25 steps. The default.</summary>
    DpmSolverPlusPlus,

    /// <summary>DDIM: 10–100 steps, deterministic unless η &gt; 0.</summary>
    Ddim,

    /// <summary>DDPM ancestral sampling over all training steps.</summary>
    Ddpm,
}

/// <summary>The sampler of each <see cref="SamplerKind"/>: one place for the TorchSharp path and the ONNX export.</summary>
internal static class Samplers
{
    public static DiffusionSampler Create(SamplerKind kind, NoiseSchedule schedule, SamplerOptions options) => kind switch
    {
        SamplerKind.Ddpm => new DdpmSampler(schedule, options),
        SamplerKind.Ddim => new DdimSampler(schedule, options),
        SamplerKind.DpmSolverPlusPlus => new DpmSolverMultistepSampler(schedule, options),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown sampler."),
    };
}
