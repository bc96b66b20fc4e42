namespace MLNet.Diffusion;

/// <summary>
/// RePaint's resampling (Lugmayr et al. 2022): DDPM steps over a grid, and every <see cref="JumpLength"/> steps a jump back up the
/// grid, <see cref="JumpCount"/> − 1 times, so the generated and the kept pixels agree. The network runs about
/// Steps × JumpCount times (<see cref="Sampling.RePaintSchedule.NetworkPasses"/>); the paper used 250 steps, jumps of 10, 10 passes
/// (about 2,500 network passes per image).
/// </summary>
public sealed record RePaintOptions
{
    /// <summary>The grid's DDPM steps, ≥ 1. Default 100.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Steps per jump, ≥ 1. Default 10 (the paper's).</summary>
    public int JumpLength { get; init; } = 10;

    /// <summary>Passes over each stretch, ≥ 1 (1: replacement with fresh noise, no resampling). Default 5 (the paper: 10).</summary>
    public int JumpCount { get; init; } = 5;
}
