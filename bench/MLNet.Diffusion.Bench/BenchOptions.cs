using System.Globalization;

namespace MLNet.Diffusion.Bench;

/// <summary>Command-line settings of the benchmark; every count applies to both sides alike.</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        usage: MLNet.Diffusion.Bench [--threads N] [--rounds N] [--iters N] [--warmup N] [--quick]
                                     [--malloc steady|default] [--python PATH] [--script PATH]

          --threads N   intra-op threads for both libtorch and PyTorch (default: the processor count)
          --rounds N    interleaved rounds, each timing one block of ours and one of PyTorch's per benchmark (default 5)
          --iters N     timed iterations per block (default 20)
          --warmup N    untimed iterations per side and benchmark before the first round (default 3)
          --quick       a smoke run: 2 rounds of 2 iterations after 1 warm-up iteration (explicit flags still win)
          --malloc M    steady (default): both processes set fixed glibc mmap/trim thresholds before their first
                        tensor, so steps reuse memory instead of faulting in fresh pages; default: glibc's own
                        dynamic thresholds, whose page-fault cost varies from process to process (see README)
          --python PATH the interpreter with torch (default /usr/bin/python3, Debian's, which has python3-torch)
          --script PATH the PyTorch side (default: reference/torch_bench.py next to this program, or bench/reference/)
        """;

    /// <summary>Intra-op threads for both sides.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Interleaved rounds.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Timed iterations per block.</summary>
    public int Iterations { get; init; } = 20;

    /// <summary>Untimed iterations per side and benchmark before the first round.</summary>
    public int Warmup { get; init; } = 3;

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
                case "--threads": threads = PositiveInt(args, ref i); break;
                case "--rounds": rounds = PositiveInt(args, ref i); break;
                case "--iters" or "--iterations": iterations = PositiveInt(args, ref i); break;
                case "--warmup": warmup = NonNegativeInt(args, ref i); break;
                case "--quick": options = options with { Quick = true }; break;
                case "--malloc":
                    var mode = Value(args, ref i);
                    options = options with
                    {
                        SteadyMalloc = mode switch
                        {
                            "steady" => true,
                            "default" => false,
                            _ => throw new ArgumentException($"--malloc takes 'steady' or 'default', not '{mode}'."),
                        },
                    };
                    break;
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

    private static string Value(IReadOnlyList<string> args, ref int i)
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
