using System.Globalization;
using System.Text;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// The program's one argument parser: which benchmark a command line selects, the options it gave that the benchmark
/// would not read (refused, so that no option is silently ignored), and the benchmark's settings. The help is written
/// from the same table, with the defaults of the settings records the parser fills.
/// </summary>
internal static class BenchCommandLine
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    private static readonly BenchmarkSpec s_sideBySide = SideBySide(new BenchOptions());
    private static readonly BenchmarkSpec s_checkOnly = CheckOnly(s_sideBySide);

    // Benchmarks of their own, as opposed to the side-by-side benchmark and its --check-only run.
    private static readonly BenchmarkSpec[] s_separate =
    [
        SharedCores(new SharedCoresOptions()),
        DataPath(new DataPathOptions()),
        Onnx(new OnnxSampleOptions()),
        BatchInvariance(new BatchInvarianceOptions()),
    ];

    /// <summary>Every benchmark, the side-by-side one first.</summary>
    public static IReadOnlyList<BenchmarkSpec> Benchmarks { get; } = [s_sideBySide, s_checkOnly, .. s_separate];

    // Every option, and whether it takes a value; each benchmark's flag is a flag too.
    private static readonly Dictionary<string, bool> s_takesValue = Benchmarks.SelectMany(b => b.Options)
        .Select(o => (o.Name, TakesValue: o.Value is not null))
        .Concat(Benchmarks.Where(b => b.Flag is not null).Select(b => (Name: b.Flag!, TakesValue: false)))
        .DistinctBy(o => o.Name)
        .ToDictionary(o => o.Name, o => o.TakesValue);

    /// <summary>
    /// Parses <paramref name="args"/>. Throws <see cref="BenchUsageException"/> for an unknown option, a missing or bad
    /// value (exit code 2), two benchmarks at once or an option the selected benchmark does not read (exit code 1).
    /// </summary>
    public static BenchCommand Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var given = new Dictionary<string, string?>(StringComparer.Ordinal);
        var order = new List<string>();
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                help = true;
                continue;
            }

            if (!s_takesValue.TryGetValue(arg, out var takesValue))
            {
                throw new BenchUsageException($"Unknown argument '{arg}'.", 2);
            }

            if (takesValue && i + 1 >= args.Count)
            {
                throw new BenchUsageException($"{arg} needs a value.", 2);
            }

            if (!given.ContainsKey(arg))
            {
                order.Add(arg);
            }

            given[arg] = takesValue ? args[++i] : null;
        }

        if (help)
        {
            return BenchCommand.Help;
        }

        var selected = s_separate.Where(b => given.ContainsKey(b.Flag!)).ToList();
        if (selected.Count > 1)
        {
            var flags = s_separate.Select(b => b.Flag!).ToList();
            throw new BenchUsageException($"{string.Join(", ", flags[..^1])} and {flags[^1]} are separate benchmarks: give one of them", 1);
        }

        var benchmark = selected.Count == 1 ? selected[0] : given.ContainsKey(s_checkOnly.Flag!) ? s_checkOnly : s_sideBySide;
        var unread = order.Where(a => a != benchmark.Flag && !benchmark.Reads(a)).ToList();
        if (unread.Count > 0)
        {
            throw new BenchUsageException(
                $"{string.Join(", ", unread)} {(unread.Count == 1 ? "does" : "do")} not apply to {benchmark.Name}, which reads only {string.Join(", ", benchmark.Options.Select(o => o.Name))}",
                1);
        }

        try
        {
            return new BenchCommand(benchmark, benchmark.Read(new BenchArguments(given)));
        }
        catch (ArgumentException ex)
        {
            throw new BenchUsageException(ex.Message, 2);
        }
    }

    /// <summary>The help: how to run the program, each benchmark and the options it reads, with their defaults.</summary>
    public static string Help()
    {
        var width = Benchmarks.SelectMany(b => b.Options).Max(o => o.Usage.Length) + 2;
        var text = new StringBuilder();
        text.AppendLine(s_invariant, $"usage: ./build.sh bench [{string.Join(" | ", Benchmarks.Where(b => b.Flag is not null).Select(b => b.Flag))}] [OPTIONS]");
        text.AppendLine("       (or dotnet run --project bench/MLNet.Diffusion.Bench -c Release -- [...]; see bench/README.md)");
        text.AppendLine();
        text.AppendLine("Each benchmark reads only the options listed under it; any other is refused.");
        foreach (var benchmark in Benchmarks)
        {
            text.AppendLine();
            text.AppendLine(s_invariant, $"{benchmark.Flag ?? "(no flag)"}: {benchmark.Summary}");
            if (benchmark == s_checkOnly)
            {
                // The side-by-side benchmark's options less the timing ones, with the same meaning and defaults.
                text.AppendLine(s_invariant, $"  reads {string.Join(", ", benchmark.Options.Select(o => o.Name))}, as above");
                continue;
            }

            foreach (var option in benchmark.Options)
            {
                text.AppendLine(s_invariant, $"  {option.Usage.PadRight(width)}{option.Text}");
            }
        }

        return text.ToString();
    }

    private static string Presets => string.Join(", ", Models.UNetConfig.PresetNames);

    private static string ProcessorCount => string.Create(s_invariant, $"the processor count, {Environment.ProcessorCount} here");

    private static string Malloc(bool steady) => steady ? "steady" : "default";

    private static BenchmarkSpec SideBySide(BenchOptions d) => new(
        null,
        "the side-by-side benchmark",
        "the side-by-side benchmark: the same workloads through ours (TorchSharp) and PyTorch, interleaved, after checking that both compute the same numbers",
        [
            new("--preset", "NAME", $"the UNet of workloads unet-train and unet-sample: {Presets} (default {d.Preset})"),
            new("--batch-size", "N", $"images per UNet step (default {d.BatchSize})"),
            new("--image-size", "N", $"image side in pixels (default {d.ImageSize})"),
            new("--channels", "N", $"image channels (default {d.Channels})"),
            new("--workloads", "LIST", $"comma-separated, from {string.Join(", ", BenchOptions.WorkloadNames)} (default {string.Join(",", d.Workloads)})"),
            new("--threads", "N", $"intra-op threads of TorchSharp and PyTorch alike (default: {ProcessorCount})"),
            new("--malloc", "M", $"steady: both processes set fixed glibc mmap/trim thresholds before their first tensor; default: glibc's own dynamic thresholds, whose page-fault cost varies from process to process (default {Malloc(d.SteadyMalloc)})"),
            new("--python", "PATH", $"the interpreter with torch (default {d.Python})"),
            new("--script", "PATH", "the PyTorch side (default: reference/torch_bench.py next to this program, or bench/reference/)"),
            new("--rounds", "N", $"interleaved rounds, each timing one block of ours and one of PyTorch's per workload (default {d.Rounds})"),
            new("--iters", "N", $"timed iterations per block (default {d.Iterations})"),
            new("--warmup", "N", $"untimed iterations per side and workload before the first round (default {d.Warmup})"),
            new("--quick", null, $"a smoke run: {BenchOptions.QuickRounds} rounds of {BenchOptions.QuickIterations} iterations after {BenchOptions.QuickWarmup} warm-up iteration (--rounds, --iters, --warmup still win)"),
            new("--memory-steps", "N", $"after the timed rounds, N more steps of the first workload, with the slope of the resident set per 1,000 steps (default {d.MemorySteps}: none)"),
        ],
        a =>
        {
            var quick = a.Has("--quick");
            return d with
            {
                Preset = a.Preset(d.Preset),
                BatchSize = a.Count("--batch-size", 1, d.BatchSize),
                ImageSize = a.Count("--image-size", 1, d.ImageSize),
                Channels = a.Count("--channels", 1, d.Channels),
                Workloads = a.Workloads(d.Workloads),
                Threads = a.Count("--threads", 1, d.Threads),
                SteadyMalloc = a.SteadyMalloc(d.SteadyMalloc),
                Python = a.Text("--python", d.Python),
                Script = a.Text("--script", d.Script),
                Rounds = a.Count("--rounds", 1, quick ? BenchOptions.QuickRounds : d.Rounds),
                Iterations = a.Count("--iters", 1, quick ? BenchOptions.QuickIterations : d.Iterations),
                Warmup = a.Count("--warmup", 0, quick ? BenchOptions.QuickWarmup : d.Warmup),
                Quick = quick,
                MemorySteps = a.Count("--memory-steps", 1, d.MemorySteps),
                CheckOnly = a.Has("--check-only"),
            };
        });

    // The side-by-side benchmark's check alone: its options less those that only timing reads.
    private static BenchmarkSpec CheckOnly(BenchmarkSpec sideBySide) => sideBySide with
    {
        Flag = "--check-only",
        Name = "--check-only",
        Summary = "only the side-by-side benchmark's check that both sides compute the same numbers (to stated tolerances); times nothing",
        Options = [.. sideBySide.Options.TakeWhile(o => o.Name != "--rounds")],
    };

    private static BenchmarkSpec SharedCores(SharedCoresOptions d) => new(
        "--shared-cores",
        "--shared-cores",
        "the images/s of 1, 2 and 3 trainings (mlnet-diffusion train, child processes) run together, under three OpenMP wait policies",
        [
            new("--preset", "NAME", $"the UNet of each training: {Presets} (default {d.Preset})"),
            new("--batch-size", "N", $"images per training step (default {d.BatchSize})"),
            new("--steps", "N", $"steps of each training (default {d.Steps})"),
            new("--threads", "N", "intra-op threads of each training (default: mlnet-diffusion train's, one per physical core)"),
        ],
        a => d with
        {
            Preset = a.Preset(d.Preset),
            BatchSize = a.Count("--batch-size", 1, d.BatchSize),
            Steps = a.Count("--steps", 1, d.Steps),
            Threads = a.OptionalCount("--threads", 1, d.Threads),
        });

    private static BenchmarkSpec DataPath(DataPathOptions d) => new(
        "--data-path",
        "--data-path",
        "training images/s through ML.NET's IDataView against in-memory tensors, interleaved, and the peak RSS of trainings on image folders",
        [
            new("--preset", "NAME", $"the UNet of the images/s runs: {Presets} (default {d.Preset})"),
            new("--batch-size", "N", $"images per step of the images/s runs (default {d.BatchSize})"),
            new("--steps", "N", $"steps of each images/s run (default {d.Steps})"),
            new("--rounds", "N", $"interleaved rounds, each one run of either path (default {d.Rounds})"),
            new("--folder-sizes", "LIST", $"comma-separated image counts of the folders, 0 for none (default {string.Join(",", d.FolderSizes)})"),
        ],
        a => d with
        {
            Preset = a.Preset(d.Preset),
            BatchSize = a.Count("--batch-size", 1, d.BatchSize),
            Steps = a.Count("--steps", 1, d.Steps),
            Rounds = a.Count("--rounds", 1, d.Rounds),
            FolderSizes = a.FolderSizes(d.FolderSizes),
        });

    private static BenchmarkSpec Onnx(OnnxSampleOptions d) => new(
        "--onnx",
        "--onnx",
        "a DPM-Solver++ sampling step through ONNX Runtime, TorchSharp and PyTorch, interleaved, as ratios",
        [
            new("--preset", "NAME", $"{Presets} (default {d.Preset})"),
            new("--batch-size", "N", $"images per run (default {d.BatchSize})"),
            new("--image-size", "N", $"image side in pixels (default {d.ImageSize})"),
            new("--channels", "N", $"image channels (default {d.Channels})"),
            new("--threads", "N", $"intra-op threads of all three engines (default: {ProcessorCount})"),
            new("--rounds", "N", $"interleaved rounds (default {d.Rounds})"),
            new("--steps", "N", $"sampler steps of the long run, at least {OnnxSampleOptions.LeastSteps}: a step costs (T_N − T_1)/(N − 1) (default {d.Steps})"),
            new("--warmup", "N", $"untimed N-step and 1-step runs per engine before the first round (default {d.Warmup})"),
            new("--ort-variants", null, "also time ONNX Runtime with its graph optimizations off, basic, extended, with spinning threads, without its CPU memory arena and with the weights outside the Loop body"),
            new("--profile", null, "after the rounds: ONNX Runtime's optimized step graph (node counts) and per-operator profiles of one N-step run of ONNX Runtime and of PyTorch"),
            new("--malloc", "M", $"steady or default, as the side-by-side benchmark's (default {Malloc(d.SteadyMalloc)})"),
            new("--python", "PATH", $"the interpreter with torch (default {d.Python})"),
            new("--script", "PATH", "torch_bench.py (default: reference/torch_bench.py next to this program, or bench/reference/)"),
        ],
        a => d with
        {
            Preset = a.Preset(d.Preset),
            BatchSize = a.Count("--batch-size", 1, d.BatchSize),
            ImageSize = a.Count("--image-size", 1, d.ImageSize),
            Channels = a.Count("--channels", 1, d.Channels),
            Threads = a.Count("--threads", 1, d.Threads),
            Rounds = a.Count("--rounds", 1, d.Rounds),
            Steps = a.Count("--steps", OnnxSampleOptions.LeastSteps, d.Steps),
            Warmup = a.Count("--warmup", 0, d.Warmup),
            OrtVariants = a.Has("--ort-variants"),
            Profile = a.Has("--profile"),
            SteadyMalloc = a.SteadyMalloc(d.SteadyMalloc),
            Python = a.Text("--python", d.Python),
            Script = a.Text("--script", d.Script),
        });

    private static BenchmarkSpec BatchInvariance(BatchInvarianceOptions d) => new(
        "--batch-invariance",
        "--batch-invariance",
        $"the sampling network call, batch-invariant against batched, interleaved, at batches {string.Join(", ", BatchInvarianceBenchmark.BatchSizes)}",
        [
            new("--preset", "NAME", $"{Presets} (default {d.Preset})"),
            new("--image-size", "N", $"image side in pixels (default {d.ImageSize})"),
            new("--channels", "N", $"image channels (default {d.Channels})"),
            new("--threads", "N", $"intra-op threads (default: {ProcessorCount})"),
            new("--rounds", "N", $"interleaved rounds (default {d.Rounds}; 10 or more for a report)"),
            new("--warmup", "N", $"untimed calls of each path per batch size before the first round (default {d.Warmup})"),
        ],
        a => d with
        {
            Preset = a.Preset(d.Preset),
            ImageSize = a.Count("--image-size", 1, d.ImageSize),
            Channels = a.Count("--channels", 1, d.Channels),
            Threads = a.Count("--threads", 1, d.Threads),
            Rounds = a.Count("--rounds", 1, d.Rounds),
            Warmup = a.Count("--warmup", 0, d.Warmup),
        });
}
