using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// The source of the Gaussian noise a sampling run draws: the starting x_T and the noise of stochastic steps.
/// <c>PerSample</c> gives each sample its seed's x_T (<see cref="SeedNoise"/>) and its own seeded generator for later steps, so a sample is the same whatever batch it
/// is generated in and wherever it sits in it. Noise is drawn on the CPU and moved to the target device, so the
/// same seed gives the same noise on every device.
/// </summary>
public sealed class SamplingNoise : IDisposable
{
    private readonly Generator[] _generators;
    private readonly Device _device;
    private readonly ulong[] _seeds;

    private SamplingNoise(Generator[] generators, Device device, bool perSample, ulong[] seeds)
    {
        _seeds = seeds;
        _generators = generators;
        _device = device;
        IsPerSample = perSample;
    }

    /// <summary>One generator per sample, seeded with <paramref name="seeds"/>; the batch size is the seed count.</summary>
    public static SamplingNoise PerSample(IReadOnlyList<ulong> seeds, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        if (seeds.Count == 0)
        {
            throw new ArgumentException("Give at least one seed.", nameof(seeds));
        }

        return new SamplingNoise([.. seeds.Select(s => new Generator(s))], device ?? torch.CPU, perSample: true, [.. seeds]);
    }

    /// <summary>Consecutive seeds <paramref name="firstSeed"/>, +1, ... for <paramref name="count"/> samples.</summary>
    public static SamplingNoise PerSample(ulong firstSeed, int count, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return PerSample([.. Enumerable.Range(0, count).Select(i => firstSeed + (ulong)i)], device);
    }

    /// <summary>One generator for the whole batch: faster for large batches, but samples depend on the batch.</summary>
    public static SamplingNoise Shared(ulong seed, Device? device = null) => new([new Generator(seed)], device ?? torch.CPU, perSample: false, [seed]);

    /// <summary>Whether every sample has its own generator.</summary>
    public bool IsPerSample { get; }

    /// <summary>
    /// x_T, the start of a sampling run. Per-sample sources give each image <see cref="SeedNoise"/>'s counter-based
    /// noise of its seed (the same floats as the ONNX generator's, whatever the batch); a shared source draws from its
    /// generator as <see cref="Next"/> does.
    /// </summary>
    /// <param name="shape">[B, …] with B the number of seeds for a per-sample source.</param>
    /// <param name="dtype">The element type of the result.</param>
    public Tensor Initial(long[] shape, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!IsPerSample)
        {
            return Next(shape, dtype);
        }

        if (shape.Length == 0 || shape[0] != _seeds.Length)
        {
            throw new ArgumentException($"This noise source has {_seeds.Length} seeds but the shape is [{string.Join(", ", shape)}].", nameof(shape));
        }

        var elements = (int)shape[1..].Aggregate(1L, (a, b) => checked(a * b));
        using var scope = torch.NewDisposeScope();
        var cpu = torch.tensor(SeedNoise.Generate(_seeds, elements), shape).to(dtype);
        return scope.MoveToOuter(_device.IsCpu() ? cpu : cpu.to(_device));
    }

    /// <summary>Standard normal noise of <paramref name="shape"/> (batch first), float32 unless told otherwise.</summary>
    public Tensor Next(long[] shape, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 0)
        {
            throw new ArgumentException("The shape needs a batch dimension.", nameof(shape));
        }

        using var scope = torch.NewDisposeScope();
        Tensor cpu;
        if (!IsPerSample)
        {
            cpu = torch.randn(shape, dtype, generator: _generators[0]);
        }
        else
        {
            if (shape[0] != _generators.Length)
            {
                throw new ArgumentException($"This noise source has {_generators.Length} per-sample generators but the batch is {shape[0]}.", nameof(shape));
            }

            var sampleShape = shape[1..];
            cpu = torch.stack(_generators.Select(g => torch.randn(sampleShape, dtype, generator: g)).ToArray());
        }

        return scope.MoveToOuter(_device.IsCpu() ? cpu : cpu.to(_device));
    }

    /// <summary>Releases the generators.</summary>
    public void Dispose()
    {
        foreach (var g in _generators)
        {
            g.Dispose();
        }
    }
}
