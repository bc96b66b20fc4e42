using System.Globalization;

namespace MLNet.Diffusion.Bench;

/// <summary>Command-line settings of the benchmark; every count applies to both sides alike.</summary>
public sealed record BenchOptions
{
    /// <summary>The usage text of the benchmark's options.</summary>
    public const string Usage = """
        usage: mlnet-diffusion bench [--preset NAME] [--batch-size N] [--image-size N] [--channels N]
                                     [--workloads LIST] [--threads N] [--rounds N] [--iters N] [--warmup N]
                                     [--quick] [--check-only] [--malloc steady|default] [--python PATH] [--script PATH]

          --preset NAME     the UNet of workloads unet-train and unet-sample: tiny, small (default), ddpm-cifar10
          --batch-size N    images per UNet step (default 64)
          --image-size N    image side in pixels (default 28, Fashion-MNIST's)
          --channels N      image channels (default 1, gray)
          --workloads LIST  comma-separated, from conv, block, unet-train, unet-sample (default: all four)

          --threads N   intra-op threads for both TorchSharp and PyTorch (default: the processor count)
          --rounds N    interleaved rounds, each timing one block of ours and one of PyTorch's per benchmark (default 5)
          --iters N     timed iterations per block (default 20)
          --warmup N    untimed iterations per side and benchmark before the first round (default 3)
          --check-only  only check that both sides compute the same numbers (to stated tolerances); time nothing
          --quick       a smoke run: 2 rounds of 2 iterations after 1 warm-up iteration (explicit flags still win)
          --malloc M    steady (default): both processes set fixed glibc mmap/trim thresholds before their first
                        tensor, so steps reuse memory instead of faulting in fresh pages; default: glibc's own
                        dynamic thresholds, whose page-fault cost varies from process to process (see README)
          --python PATH the interpreter with torch (default /usr/bin/python3, Debian's, which has python3-torch)
          --script PATH the PyTorch side (default: reference/torch_bench.py next to this program, or bench/reference/)
        """;

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
    public string Python { get; init; } = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>An explicit path to torch_bench.py, or null to look for it.</summary>
    public string? Script { get; init; }

    /// <summary>Whether --help was asked for.</summary>
    public bool Help { get; init; }

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a readable message on a bad one.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        int? threads = null, rounds = null, iterations = null, warmup = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--preset": options = options with { Preset = ParsePreset(args, ref i) }; break;
                case "--batch-size": options = options with { BatchSize = PositiveInt(args, ref i) }; break;
                case "--image-size": options = options with { ImageSize = PositiveInt(args, ref i) }; break;
                case "--channels": options = options with { Channels = PositiveInt(args, ref i) }; break;
                case "--workloads":
                    var list = Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    var unknown = list.Where(w => !WorkloadNames.Contains(w)).ToList();
                    options = options with
                    {
                        Workloads = list.Length > 0 && unknown.Count == 0
                            ? [.. WorkloadNames.Where(list.Contains)]
                            : throw new ArgumentException($"--workloads takes a comma-separated list from {string.Join(", ", WorkloadNames)}; '{string.Join(", ", unknown)}' is not one."),
                    };
                    break;
                case "--threads": threads = PositiveInt(args, ref i); break;
                case "--rounds": rounds = PositiveInt(args, ref i); break;
                case "--iters" or "--iterations": iterations = PositiveInt(args, ref i); break;
                case "--warmup": warmup = NonNegativeInt(args, ref i); break;
                case "--quick": options = options with { Quick = true }; break;
                case "--check-only": options = options with { CheckOnly = true }; break;
                case "--memory-steps": options = options with { MemorySteps = PositiveInt(args, ref i) }; break;
                case "--malloc": options = options with { SteadyMalloc = ParseMalloc(args, ref i) }; break;
                case "--python": options = options with { Python = Value(args, ref i) }; break;
                case "--script": options = options with { Script = Value(args, ref i) }; break;
                case "-h" or "--help": options = options with { Help = true }; break;
                default: throw new ArgumentException($"Unknown argument '{arg}'.");
            }
        }

        return options with
        {
            Threads = threads ?? options.Threads,
            Rounds = rounds ?? (options.Quick ? 2 : options.Rounds),
            Iterations = iterations ?? (options.Quick ? 2 : options.Iterations),
            Warmup = warmup ?? (options.Quick ? 1 : options.Warmup),
        };
    }

    /// <summary>The value of <c>--preset</c> at <paramref name="i"/> (one of the UNet presets), moving past it.</summary>
    internal static string ParsePreset(IReadOnlyList<string> args, ref int i)
    {
        var preset = Value(args, ref i);
        return Models.UNetConfig.PresetNames.Contains(preset)
            ? preset
            : throw new ArgumentException($"--preset takes one of {string.Join(", ", Models.UNetConfig.PresetNames)}, not '{preset}'.");
    }

    /// <summary>The value of <c>--malloc</c> at <paramref name="i"/>: true for 'steady', false for 'default'.</summary>
    internal static bool ParseMalloc(IReadOnlyList<string> args, ref int i) => Value(args, ref i) switch
    {
        "steady" => true,
        "default" => false,
        var mode => throw new ArgumentException($"--malloc takes 'steady' or 'default', not '{mode}'."),
    };

    /// <summary>The value after the option at <paramref name="i"/>, moving past it.</summary>
    internal static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
        {
            throw new ArgumentException($"{args[i]} needs a value.");
        }

        return args[++i];
    }

    private static int PositiveInt(IReadOnlyList<string> args, ref int i)
    {
        var name = args[i];
        var value = NonNegativeInt(args, ref i);
        return value > 0 ? value : throw new ArgumentException($"{name} must be at least 1, not {value}.");
    }

    private static int NonNegativeInt(IReadOnlyList<string> args, ref int i)
    {
        var name = args[i];
        var text = Value(args, ref i);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"{name} needs a whole number ≥ 0, not '{text}'.");
    }
}
