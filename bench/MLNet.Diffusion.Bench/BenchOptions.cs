namespace MLNet.Diffusion.Bench;

/// <summary>Settings of the side-by-side benchmark and its <c>--check-only</c> run; every count applies to both sides alike.</summary>
public sealed record BenchOptions
{
    /// <summary>The rounds of a <c>--quick</c> run, unless <c>--rounds</c> is given.</summary>
    public const int QuickRounds = 2;

    /// <summary>The timed iterations per block of a <c>--quick</c> run, unless <c>--iters</c> is given.</summary>
    public const int QuickIterations = 2;

    /// <summary>The warm-up iterations of a <c>--quick</c> run, unless <c>--warmup</c> is given.</summary>
    public const int QuickWarmup = 1;

    /// <summary>The Python interpreter with torch when none is named: Debian's, which has python3-torch, where it exists.</summary>
    public static string DefaultPython { get; } = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>The names of the workloads, in the order they run.</summary>
    public static IReadOnlyList<string> WorkloadNames { get; } = ["conv", "block", "unet-train", "unet-sample"];

    /// <summary>The UNet preset of the UNet workloads (tiny, small, ddpm-cifar10).</summary>
    public string Preset { get; init; } = "small";

    /// <summary>Images per UNet step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>The side of the UNet workloads' square images, in pixels.</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Channels of the UNet workloads' images.</summary>
    public int Channels { get; init; } = 1;

    /// <summary>The workloads to run, from <see cref="WorkloadNames"/>.</summary>
    public IReadOnlyList<string> Workloads { get; init; } = WorkloadNames;

    /// <summary>Intra-op threads for both sides.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Interleaved rounds.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Timed iterations per block.</summary>
    public int Iterations { get; init; } = 20;

    /// <summary>Untimed iterations per side and benchmark before the first round.</summary>
    public int Warmup { get; init; } = 3;

    /// <summary>Whether to stop after the start-up check (same models, same numbers) without timing anything.</summary>
    public bool CheckOnly { get; init; }

    /// <summary>
    /// After the timed rounds, this many more steps of our first workload, in 20 chunks, with the resident set size
    /// read after each chunk: its slope (MiB per 1,000 steps) over the last 15 chunks shows whether native memory stays
    /// flat. 0 (the default): none.
    /// </summary>
    public int MemorySteps { get; init; }

    /// <summary>Whether this is a smoke run.</summary>
    public bool Quick { get; init; }

    /// <summary>Whether both processes fix glibc's mmap and trim thresholds (see <see cref="ProcessMemory.TryMakeMallocSteady"/>).</summary>
    public bool SteadyMalloc { get; init; } = true;

    /// <summary>The Python interpreter that has torch.</summary>
    public string Python { get; init; } = DefaultPython;

    /// <summary>An explicit path to torch_bench.py, or null to look for it.</summary>
    public string? Script { get; init; }
}
