using MLNet.Diffusion.IO;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// The side-by-side benchmark (<c>./build.sh bench</c> without a benchmark flag): times the same workloads
/// through TorchSharp and through PyTorch (same models and weights, same batch, same thread count, same iteration
/// counts) in one run, interleaving the two so that machine noise hits both alike, after checking that both sides
/// compute the same numbers to a stated tolerance. See bench/README.md.
/// </summary>
public static class SideBySideBenchmark
{
    /// <summary>PyTorch time / our time at or above which our side counts as on par.</summary>
    public const double TargetRatio = 1.0;

    /// <summary>
    /// Relative tolerance of the start-up check's numbers (losses, norms, means). Both sides compute them from the
    /// same tensors, but ours on TorchSharp's libtorch 2.10 and PyTorch's on Debian's 1.13, whose kernels (and
    /// multithreaded reductions) round differently in the last float32 bits; the differences seen are below 10⁻⁶.
    /// </summary>
    private const double CheckTolerance = 1e-4;

    private const int Seed = 0;

    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// Runs the benchmark with <paramref name="options"/>, writing the report to <paramref name="output"/>. Throws
    /// <see cref="InvalidOperationException"/> when the two sides disagree or PyTorch cannot be run.
    /// </summary>
    public static void Run(BenchOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);

        // Before the first tensor of either process; the child does the same before its first tensor.
        if (options.SteadyMalloc && !ProcessMemory.TryMakeMallocSteady())
        {
            throw new InvalidOperationException("mallopt failed in this process; run with --malloc default.");
        }

        // Both sides get the thread count explicitly: libtorch's default depends on the machine.
        torch.set_num_threads(options.Threads);
        torch.random.manual_seed(Seed);

        var script = PythonReference.FindScript(options.Script);
        using var python = PythonReference.Start(options.Python, script, options, Seed);
        if (python.Threads != torch.get_num_threads())
        {
            throw new InvalidOperationException($"PyTorch runs {python.Threads} threads but ours runs {torch.get_num_threads()}.");
        }

        if (python.SteadyMalloc != options.SteadyMalloc)
        {
            throw new InvalidOperationException("mallopt failed in the Python process; run with --malloc default.");
        }

        WriteHeader(options, python, output);
        var benchmarks = new List<IBenchmark>();
        try
        {
            // In the order torch_bench.py builds its models, so that both draw their initial weights alike.
            foreach (var name in options.Workloads)
            {
                benchmarks.Add(name switch
                {
                    "conv" => new ConvNetBenchmark(),
                    "block" => new AttentionBlockBenchmark(),
                    "unet-train" => new UNetTrainBenchmark(options),
                    "unet-sample" => new UNetSampleBenchmark(options),
                    _ => throw new ArgumentException($"Unknown workload '{name}'."),
                });
            }

            CheckSameModels(benchmarks, python);
            CheckSameComputation(benchmarks, python, output);
            output.WriteLine();
            if (options.CheckOnly)
            {
                output.WriteLine("--check-only: both sides compute the same numbers, within the tolerances above; nothing was timed.");
                return;
            }

            // The level after loading (runtimes, libtorch, models, inputs): the peak of each side is measured above it.
            var ourLoaded = ProcessMemory.ResetPeakRss() ? ProcessMemory.CurrentRssKiB() : null;
            var theirLoaded = python.ResetPeakRss();

            // Warm-up: JIT tiers, the heap, oneDNN primitive caches and the optimiser state on both sides.
            foreach (var benchmark in benchmarks)
            {
                if (options.Warmup > 0)
                {
                    benchmark.Run(options.Warmup);
                    python.Run(benchmark.Command, options.Warmup);
                }
            }

            var results = benchmarks.Select(b => new Result(b.Title, b.BatchSize)).ToArray();
            var liveBefore = torch.Tensor.TotalCount;
            for (var round = 0; round < options.Rounds; round++)
            {
                for (var i = 0; i < benchmarks.Count; i++)
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
                    output.WriteLine(string.Create(s_invariant,
                        $"round {round + 1}/{options.Rounds}  {results[i].Title,-44}  ours {o,8:F2} ms   PyTorch {t,8:F2} ms   ratio {t / o,5:F3}"));
                }
            }

            var liveAfter = torch.Tensor.TotalCount;
            output.WriteLine();
            output.WriteLine(FormatTable(results));
            output.WriteLine();
            output.WriteLine(string.Create(s_invariant,
                $"ratio = PyTorch median / our median per step: above 1 we are faster, 1 is a tie; the target is ≥ {TargetRatio:F2}."));
            output.WriteLine("per-round ratios compare the two blocks of the same round; faults/step are minor page faults per step.");
            output.WriteLine();

            var ourPeak = ProcessMemory.PeakRssKiB();
            var (_, theirPeak) = python.RssKiB();
            if (ourLoaded is { } loaded && ourPeak is { } peak)
            {
                var (ours, theirs) = (peak - loaded, theirPeak - theirLoaded);
                output.WriteLine(string.Create(s_invariant,
                    $"peak RSS above the level after loading (models, inputs and one probe step of each workload): ours {Mib(ours)} (loaded {Mib(loaded)}), PyTorch {Mib(theirs)} (loaded {Mib(theirLoaded)})"));
            }

            var theirWhole = python.PeakRssKiB();
            output.WriteLine(string.Create(s_invariant,
                $"peak RSS of the whole process: ours {(ourPeak is { } kib ? Mib(kib) : "n/a")} (includes the .NET runtime), PyTorch {Mib(theirWhole)} (includes the Python interpreter); ours/PyTorch {(ourPeak ?? 0) / (double)theirWhole:F2} (target ≤ 1.10)"));
            output.WriteLine(string.Create(s_invariant,
                $"live tensors (ours, TorchSharp's Tensor.TotalCount): {liveBefore} after warm-up, {liveAfter} after the timed rounds{(liveAfter <= liveBefore ? " (flat)" : " (GROWING: a leak)")}"));
            if (options.MemorySteps > 0)
            {
                MeasureMemorySlope(benchmarks[0], options.MemorySteps, output);
            }
        }
        finally
        {
            foreach (var benchmark in benchmarks)
            {
                benchmark.Dispose();
            }
        }
    }

    // Runs `steps` more steps of one workload of ours in 20 chunks, reading the resident set size after each; reports the
    // least-squares slope over the last 15 chunks (the first 5 let caches and the GC settle). Ours only: the question
    // is whether native memory leaks, and PyTorch's side would take several times longer at batch 1.
    private static void MeasureMemorySlope(IBenchmark benchmark, int steps, TextWriter output)
    {
        const int Chunks = 20;
        const int Settle = 5;
        var chunk = Math.Max(1, steps / Chunks);
        var points = new List<(double Step, double Mib)>();
        for (var c = 1; c <= Chunks; c++)
        {
            benchmark.Run(chunk);
            if (c > Settle)
            {
                points.Add((c * chunk, (ProcessMemory.CurrentRssKiB() ?? 0) / 1024.0));
            }
        }

        output.WriteLine(string.Create(s_invariant,
            $"RSS over {Chunks * chunk} more steps of {benchmark.Title.Trim()} (ours): {points[0].Mib:F1} MiB after {Settle * chunk} steps, " +
            $"{points[^1].Mib:F1} MiB at the end, least-squares slope {Slope(points) * 1000:F3} MiB per 1,000 steps"));
    }

    private static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        var (mx, my) = (points.Average(p => p.X), points.Average(p => p.Y));
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? 0 : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
    }

    private static BlockTiming RunOurs(IBenchmark benchmark, int iterations)
    {
        var faults = ProcessMemory.MinorFaults();
        var ms = benchmark.Run(iterations);
        return new BlockTiming(ms, ProcessMemory.MinorFaults() - faults);
    }

    private static void WriteHeader(BenchOptions options, PythonReference python, TextWriter output)
    {
        output.WriteLine("MLNet.Diffusion side-by-side benchmark: ours (TorchSharp) against PyTorch");
        output.WriteLine(string.Create(s_invariant,
            $"  ours:    TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {TorchSharp.torch.__version__}), {RuntimeInformation.FrameworkDescription}, {torch.get_num_threads()} threads"));
        output.WriteLine(string.Create(s_invariant,
            $"  PyTorch: torch {python.TorchVersion}, Python {python.PythonVersion} ({python.Executable}), {python.Threads} threads"));
        output.WriteLine(string.Create(s_invariant,
            $"  {Environment.ProcessorCount} processors; {options.Rounds} rounds × {options.Iterations} timed iterations per side and benchmark, after {options.Warmup} warm-up iteration(s) each"));
        output.WriteLine(options.SteadyMalloc
            ? string.Create(s_invariant, $"  malloc: steady in both processes (glibc mmap threshold {ProcessMemory.SteadyMmapThreshold >> 20} MiB, trim threshold {ProcessMemory.SteadyTrimThreshold >> 20} MiB)")
            : "  malloc: glibc defaults in both processes (dynamic mmap threshold: page-fault costs vary from process to process)");
        if (options.Quick)
        {
            output.WriteLine("  --quick: a smoke run; the numbers mean little");
        }

        output.WriteLine();
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
    /// Gives PyTorch our initial weights and inputs, runs one probe step on each side and compares the numbers and the
    /// tensors each probe computed, so the timings below are known to compare the same computation, not merely the
    /// same shapes.
    /// </summary>
    private static void CheckSameComputation(IReadOnlyList<IBenchmark> benchmarks, PythonReference python, TextWriter output)
    {
        var stem = Path.Combine(Path.GetTempPath(), string.Create(s_invariant, $"mlnd-bench-{Environment.ProcessId}"));
        var (path, theirPath) = (stem + ".safetensors", stem + "-pytorch.safetensors");
        try
        {
            Safetensors.Save(path, benchmarks.SelectMany(b => b.CheckTensors().Select(t => KeyValuePair.Create(b.Command + "." + t.Key, t.Value))));
            var theirs = python.Check(path, theirPath);
            using var theirTensors = Safetensors.Load(theirPath);
            foreach (var benchmark in benchmarks)
            {
                var ours = benchmark.Probe();
                var reference = theirs[benchmark.Command];
                var worst = ours.Zip(reference, (a, b) => Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12)).Max();
                var pairs = benchmark.ProbeLabels.Select((label, i) => string.Create(s_invariant, $"{label} {ours[i]:G7} vs {reference[i]:G7}"));
                output.WriteLine(string.Create(s_invariant,
                    $"check {benchmark.Title}, same weights and inputs: {string.Join(", ", pairs)} (ours vs PyTorch; largest relative difference {worst:G2})"));
                if (ours.Length != reference.Length || !(worst <= CheckTolerance))
                {
                    throw new InvalidOperationException(string.Create(s_invariant,
                        $"{benchmark.Title}: our numbers differ from PyTorch's beyond {CheckTolerance:G2}; the two sides do not compute the same thing."));
                }

                foreach (var probe in benchmark.ProbeTensors)
                {
                    var name = benchmark.Command + "." + probe.Name;
                    if (!theirTensors.Tensors.TryGetValue(name, out var their))
                    {
                        throw new InvalidOperationException($"{benchmark.Title}: PyTorch's probe wrote no '{name}'.");
                    }

                    var difference = Agreement.RelativeDifference(probe.Value, their, probe.Scale, probe.Mask);
                    var where = probe.Mask is null ? string.Empty : $" {probe.MaskMeaning}";
                    var overall = probe.Mask is null
                        ? string.Empty
                        : string.Create(s_invariant, $"; {Agreement.RelativeDifference(probe.Value, their, probe.Scale):G2} over all elements");
                    output.WriteLine(string.Create(s_invariant,
                        $"  {probe.Label}: largest difference {difference:G2} of {probe.ScaleMeaning}{where} (tolerance {probe.Tolerance:G1}{overall})"));
                    if (!(difference <= probe.Tolerance))
                    {
                        throw new InvalidOperationException(string.Create(s_invariant,
                            $"{benchmark.Title}: {probe.Label} differs from PyTorch's by {difference:G2} of {probe.ScaleMeaning}{where}, beyond {probe.Tolerance:G1}."));
                    }
                }
            }
        }
        finally
        {
            File.Delete(path);
            File.Delete(theirPath);
        }
    }

    private static string Mib(long kib) => string.Create(s_invariant, $"{kib / 1024.0:F1} MiB");

    private static string FormatTable(IReadOnlyList<Result> results)
    {
        string[] header = ["benchmark", "ours median ms", "PyTorch median ms", "ours images/s", "PyTorch images/s", "ours min ms", "PyTorch min ms", "PyTorch/ours", "per-round ratios", "faults/step ours / PyTorch", "vs target"];
        var rows = new List<string[]> { header };
        foreach (var r in results)
        {
            var ratio = Timing.Median(r.Theirs) / Timing.Median(r.Ours);
            rows.Add(
            [
                r.Title,
                F(Timing.Median(r.Ours), "F2"),
                F(Timing.Median(r.Theirs), "F2"),
                F(r.BatchSize * 1000 / Timing.Median(r.Ours), "F1"),
                F(r.BatchSize * 1000 / Timing.Median(r.Theirs), "F1"),
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
    private sealed class Result(string title, int batchSize)
    {
        private readonly List<double> _ours = [];
        private readonly List<double> _theirs = [];
        private readonly List<double> _roundRatios = [];
        private long _ourFaults;
        private long _theirFaults;

        public string Title { get; } = title;

        public int BatchSize { get; } = batchSize;

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
