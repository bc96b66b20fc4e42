namespace MLNet.Diffusion.Bench;

/// <summary>Settings of <see cref="OnnxSampleBenchmark"/>; every count applies to the three engines alike.</summary>
public sealed record OnnxSampleOptions
{
    /// <summary>The fewest steps of the long run: the per-step time is the difference of an N-step and a 1-step run.</summary>
    public const int LeastSteps = 2;

    /// <summary>The UNet preset (tiny, small, ddpm-cifar10).</summary>
    public string Preset { get; init; } = "small";

    /// <summary>Images per generation.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>The side of the square images, in pixels.</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Image channels.</summary>
    public int Channels { get; init; } = 1;

    /// <summary>Intra-op threads of all three engines.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Interleaved rounds.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Sampler steps of the long run, at least <see cref="LeastSteps"/>: a step costs (T_N − T_1)/(N − 1).</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Untimed N-step and 1-step runs per engine before the first round.</summary>
    public int Warmup { get; init; } = 1;

    /// <summary>Whether to also time ONNX Runtime with one setting changed at a time.</summary>
    public bool OrtVariants { get; init; }

    /// <summary>Whether to print ONNX Runtime's optimized step graph and per-operator profiles after the rounds.</summary>
    public bool Profile { get; init; }

    /// <summary>Whether both processes fix glibc's mmap and trim thresholds (see <see cref="ProcessMemory.TryMakeMallocSteady"/>).</summary>
    public bool SteadyMalloc { get; init; } = true;

    /// <summary>The Python interpreter that has torch.</summary>
    public string Python { get; init; } = BenchOptions.DefaultPython;

    /// <summary>An explicit path to torch_bench.py, or null to look for it.</summary>
    public string? Script { get; init; }
}
