using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using MLNet.Diffusion.Torch;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// Times the same workloads through our binding and through PyTorch (same libtorch, same shapes, same thread count,
/// same iteration counts) in one run, interleaving the two so that machine noise hits both alike.
/// </summary>
internal static class Program
{
    /// <summary>PyTorch time / our time at or above which our binding counts as on par.</summary>
    private const double TargetRatio = 0.97;

    /// <summary>
    /// Relative tolerance of the start-up check. Both sides run the same libtorch kernels on the same tensors, but
    /// multithreaded reductions may add in another order, so the last few float32 bits may differ.
    /// </summary>
    private const double CheckTolerance = 1e-4;

    private const int Seed = 0;

    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    private static int Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }

        try
        {
            Run(options);
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or InvalidDataException or FileNotFoundException or DllNotFoundException or TorchException)
        {
            Console.Error.WriteLine($"benchmark failed: {ex.Message}");
            return 1;
        }
    }

    private static void Run(BenchOptions options)
    {
        // Before the first tensor of either process; the child does the same before its first tensor.
        if (options.SteadyMalloc && !ProcessMemory.TryMakeMallocSteady())
        {
            throw new InvalidOperationException("mallopt failed in this process; run with --malloc default.");
        }

        // Both sides get the thread count explicitly: Debian's libtorch starts with one thread whatever the machine.
        LibTorch.NumThreads = options.Threads;
        LibTorch.ManualSeed(Seed);

        var script = PythonReference.FindScript(options.Script);
        using var python = PythonReference.Start(options.Python, script, options.Threads, Seed, options.SteadyMalloc);
        if (python.Threads != LibTorch.NumThreads)
        {
            throw new InvalidOperationException($"PyTorch runs {python.Threads} threads but ours runs {LibTorch.NumThreads}.");
        }

        if (python.SteadyMalloc != options.SteadyMalloc)
        {
            throw new InvalidOperationException("mallopt failed in the Python process; run with --malloc default.");
        }

        WriteHeader(options, python);
        IBenchmark[] benchmarks = [new ConvNetBenchmark(), new AttentionBlockBenchmark()];
        try
        {
            CheckSameModels(benchmarks, python);
            CheckSameComputation(benchmarks, python);
            Console.WriteLine();

            // Warm-up: JIT tiers, the heap, oneDNN primitive caches and the optimiser state on both sides.
            foreach (var benchmark in benchmarks)
            {
                if (options.Warmup > 0)
                {
                    benchmark.Run(options.Warmup);
                    python.Run(benchmark.Command, options.Warmup);
                }
            }

            var results = benchmarks.Select(b => new Result(b.Title)).ToArray();
            var liveBefore = LibTorch.LiveTensorCount;
            for (var round = 0; round < options.Rounds; round++)
            {
                for (var i = 0; i < benchmarks.Length; i++)
                {
                    // Alternate who goes first (ours, theirs | theirs, ours | ...) so a slow drift favours neither side.
                    BlockTiming ours, theirs;
                    if (round % 2 == 0)
                    {
                        ours = RunOurs(benchmarks[i], options.Iterations);
                        theirs = python.Run(benchmarks[i].Command, options.Iterations);
                    }
                    else
                    {
                        theirs = python.Run(benchmarks[i].Command, options.Iterations);
                        ours = RunOurs(benchmarks[i], options.Iterations);
                    }

                    results[i].Add(ours, theirs);
                    var (o, t) = (Timing.Median(ours.Ms), Timing.Median(theirs.Ms));
                    Console.WriteLine(string.Create(s_invariant,
                        $"round {round + 1}/{options.Rounds}  {results[i].Title,-42}  ours {o,8:F2} ms   PyTorch {t,8:F2} ms   ratio {t / o,5:F3}"));
                }
            }

            var liveAfter = LibTorch.LiveTensorCount;
            Console.WriteLine();
            Console.WriteLine(FormatTable(results));
            Console.WriteLine();
            Console.WriteLine(string.Create(s_invariant,
                $"ratio = PyTorch median / our median per step: above 1 we are faster, 1 is a tie; the target is ≥ {TargetRatio:F2}."));
            Console.WriteLine("per-round ratios compare the two blocks of the same round; faults/step are minor page faults per step.");
            Console.WriteLine();

            var ourRss = ProcessMemory.PeakRssKiB();
            var theirRss = python.PeakRssKiB();
            Console.WriteLine(string.Create(s_invariant,
                $"peak RSS: ours {(ourRss is { } kib ? Mib(kib) : "n/a")} (VmHWM, includes the .NET runtime), PyTorch {Mib(theirRss)} (ru_maxrss, includes the Python interpreter)"));
            Console.WriteLine(string.Create(s_invariant,
                $"live native tensor handles (ours): {liveBefore} after warm-up, {liveAfter} after the timed rounds{(liveAfter == liveBefore ? " (flat)" : " (GROWING: a leak)")}"));
        }
        finally
        {
            foreach (var benchmark in benchmarks)
            {
                benchmark.Dispose();
            }
        }
    }

    private static BlockTiming RunOurs(IBenchmark benchmark, int iterations)
    {
        var faults = ProcessMemory.MinorFaults();
        var ms = benchmark.Run(iterations);
        return new BlockTiming(ms, ProcessMemory.MinorFaults() - faults);
    }

    private static void WriteHeader(BenchOptions options, PythonReference python)
    {
        Console.WriteLine("MLNet.Diffusion side-by-side benchmark: our binding against PyTorch on the same libtorch");
        Console.WriteLine(string.Create(s_invariant,
            $"  ours:    libtorch {LibTorch.Version} through the shim, {RuntimeInformation.FrameworkDescription}, {LibTorch.NumThreads} threads"));
        Console.WriteLine(string.Create(s_invariant,
            $"  PyTorch: torch {python.TorchVersion}, Python {python.PythonVersion} ({python.Executable}), {python.Threads} threads"));
        Console.WriteLine(string.Create(s_invariant,
            $"  {Environment.ProcessorCount} processors; {options.Rounds} rounds × {options.Iterations} timed iterations per side and benchmark, after {options.Warmup} warm-up iteration(s) each"));
        Console.WriteLine(options.SteadyMalloc
            ? string.Create(s_invariant, $"  malloc: steady in both processes (glibc mmap threshold {ProcessMemory.SteadyMmapThreshold >> 20} MiB, trim threshold {ProcessMemory.SteadyTrimThreshold >> 20} MiB)")
            : "  malloc: glibc defaults in both processes (dynamic mmap threshold: page-fault costs vary from process to process)");
        if (options.Quick)
        {
            Console.WriteLine("  --quick: a smoke run; the numbers mean little");
        }

        Console.WriteLine();
    }

    /// <summary>A cheap guard against the two sides drifting apart: the same number of trainable scalars.</summary>
    private static void CheckSameModels(IReadOnlyList<IBenchmark> benchmarks, PythonReference python)
    {
        foreach (var benchmark in benchmarks)
        {
            var theirs = python.ParameterCounts.GetValueOrDefault(benchmark.Command);
            if (theirs != benchmark.ParameterCount)
            {
                throw new InvalidOperationException(string.Create(s_invariant,
                    $"{benchmark.Title}: our model has {benchmark.ParameterCount} parameters, PyTorch's has {theirs}; the two sides no longer match."));
            }
        }
    }

    /// <summary>
    /// Gives PyTorch our initial weights and inputs, runs one probe step on each side and compares the numbers,
    /// so the timings below are known to compare the same computation, not merely the same shapes.
    /// </summary>
    private static void CheckSameComputation(IReadOnlyList<IBenchmark> benchmarks, PythonReference python)
    {
        var path = Path.Combine(Path.GetTempPath(), string.Create(s_invariant, $"mlnd-bench-{Environment.ProcessId}.safetensors"));
        try
        {
            Safetensors.Save(path, benchmarks.SelectMany(b => b.CheckTensors().Select(t => KeyValuePair.Create(b.Command + "." + t.Key, t.Value))));
            var theirs = python.Check(path);
            foreach (var benchmark in benchmarks)
            {
                var ours = benchmark.Probe();
                var reference = theirs[benchmark.Command];
                var worst = ours.Zip(reference, (a, b) => Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12)).Max();
                var pairs = benchmark.ProbeLabels.Select((label, i) => string.Create(s_invariant, $"{label} {ours[i]:G7} vs {reference[i]:G7}"));
                Console.WriteLine(string.Create(s_invariant,
                    $"check {benchmark.Title}, same weights and inputs: {string.Join(", ", pairs)} (ours vs PyTorch; largest relative difference {worst:G2})"));
                if (ours.Length != reference.Length || !(worst <= CheckTolerance))
                {
                    throw new InvalidOperationException(string.Create(s_invariant,
                        $"{benchmark.Title}: our numbers differ from PyTorch's beyond {CheckTolerance:G2}; the two sides do not compute the same thing."));
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Mib(long kib) => string.Create(s_invariant, $"{kib / 1024.0:F1} MiB");

    private static string FormatTable(IReadOnlyList<Result> results)
    {
        string[] header = ["benchmark", "ours median ms", "PyTorch median ms", "ours min ms", "PyTorch min ms", "PyTorch/ours", "per-round ratios", "faults/step ours / PyTorch", "vs target"];
        var rows = new List<string[]> { header };
        foreach (var r in results)
        {
            var ratio = Timing.Median(r.Theirs) / Timing.Median(r.Ours);
            rows.Add(
            [
                r.Title,
                F(Timing.Median(r.Ours), "F2"),
                F(Timing.Median(r.Theirs), "F2"),
                F(r.Ours.Min(), "F2"),
                F(r.Theirs.Min(), "F2"),
                F(ratio, "F3"),
                $"{F(r.RoundRatios.Min(), "F3")} – {F(r.RoundRatios.Max(), "F3")}",
                $"{F(r.OurFaultsPerStep, "F0")} / {F(r.TheirFaultsPerStep, "F0")}",
                ratio >= TargetRatio ? "ok" : "BELOW",
            ]);
        }

        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(row => row[c].Length)).ToArray();
        var text = new StringBuilder();
        for (var i = 0; i < rows.Count; i++)
        {
            // A Markdown pipe table: the title left-aligned, the numbers right-aligned.
            var cells = rows[i].Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]));
            text.Append("| ").AppendJoin(" | ", cells).Append(" |\n");
            if (i == 0)
            {
                text.Append('|').AppendJoin('|', widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")).Append("|\n");
            }
        }

        return text.ToString().TrimEnd('\n');
    }

    private static string F(double value, string format) => value.ToString(format, s_invariant);

    /// <summary>Per-iteration times and page faults of one benchmark on both sides, collected round by round.</summary>
    private sealed class Result(string title)
    {
        private readonly List<double> _ours = [];
        private readonly List<double> _theirs = [];
        private readonly List<double> _roundRatios = [];
        private long _ourFaults;
        private long _theirFaults;

        public string Title { get; } = title;

        public IReadOnlyList<double> Ours => _ours;

        public IReadOnlyList<double> Theirs => _theirs;

        /// <summary>PyTorch median / our median within each round.</summary>
        public IReadOnlyList<double> RoundRatios => _roundRatios;

        public double OurFaultsPerStep => (double)_ourFaults / Math.Max(_ours.Count, 1);

        public double TheirFaultsPerStep => (double)_theirFaults / Math.Max(_theirs.Count, 1);

        public void Add(BlockTiming ours, BlockTiming theirs)
        {
            _ours.AddRange(ours.Ms);
            _theirs.AddRange(theirs.Ms);
            _ourFaults += ours.MinorFaults;
            _theirFaults += theirs.MinorFaults;
            _roundRatios.Add(Timing.Median(theirs.Ms) / Timing.Median(ours.Ms));
        }
    }
}
