using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>;
using MLNet.Diffusion.Data;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Onnx;
using MLNet.Diffusion.Schedulers;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// A sampling step three ways, interleaved in one run (<c>./build.sh bench --onnx</c>): ONNX Runtime running the
/// generator graph (<see cref="GeneratorGraph"/> through <see cref="OnnxGenerator"/>, as shipped), TorchSharp running
/// <see cref="SamplingLoop"/>, and PyTorch running <c>diffusion.sample_loop</c> (bench/reference/torch_bench.py,
/// <c>sample-run</c>); all three DPM-Solver++(2M) on the same UNet with the same perturbed weights, batch, image size and
/// thread count. See bench/README.md, "Sampling through ONNX Runtime".
/// </summary>
/// <remarks>
/// <para>
/// Per-step time: each engine runs a whole N-step generation and a 1-step generation in every round, and a step costs
/// (T_N − T_1)/(N − 1). Both runs pay the same fixed costs once (x_T from the seeds, the 0–255 conversion, ONNX
/// Runtime's session run and output copy, TorchSharp's and Python's per-run set-up), so the difference is N − 1 UNet
/// evaluations and sampler updates. The 1-step run's one step is DPM-Solver++'s last-step form (x̂₀ only), a few
/// element-wise operations cheaper than a middle step: negligible next to the UNet.
/// </para>
/// <para>
/// Agreement, before timing: ONNX Runtime generates from its own seeds (its counter-based x_T), TorchSharp and PyTorch
/// start from <see cref="SampleNoise.Initial"/> of the same seeds. A copy of the N-step graph also outputs its x_T and
/// the loop's final model-space x (the clipped x̂₀ of the last step, before the pixel conversion), so the three are
/// compared in model space, as floats, rather than as rounded pixels.
/// </para>
/// </remarks>
public static class OnnxSampleBenchmark
{
    /// <summary>
    /// The largest accepted difference between two engines' final model-space x, relative to its largest magnitude. The
    /// three run different kernels (MLAS, libtorch 2.10, libtorch 1.13); the first step, from t = 999, divides by
    /// √ᾱ ≈ 0.0064 and so amplifies their float32 rounding about 150-fold, which the later steps carry along
    /// (UNetSampleBenchmark.SamplerTolerance, the same figure for 5 steps between the two libtorch versions).
    /// </summary>
    public const double Tolerance = 1e-3;

    private const int Seed = 0;
    private const long FirstSeed = 1000;
    private const string Command = "sample-run";
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// Checks that the engines agree, times them and writes the report to <paramref name="output"/>. Throws
    /// <see cref="InvalidOperationException"/> when the engines disagree or PyTorch cannot be run.
    /// </summary>
    public static void Run(OnnxSampleOptions settings, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        if (settings.SteadyMalloc && !ProcessMemory.TryMakeMallocSteady())
        {
            throw new InvalidOperationException("mallopt failed in this process; run with --malloc default.");
        }

        torch.set_num_threads(settings.Threads);
        torch.random.manual_seed(Seed);
        var options = new BenchOptions
        {
            Preset = settings.Preset, BatchSize = settings.BatchSize, ImageSize = settings.ImageSize, Channels = settings.Channels,
            Threads = settings.Threads, SteadyMalloc = settings.SteadyMalloc, Python = settings.Python, Script = settings.Script,
            Workloads = [Command],
        };
        var n = settings.Steps;
        using var python = PythonReference.Start(options.Python, PythonReference.FindScript(options.Script), options, Seed,
            ["--sample-steps", n.ToString(s_invariant)]);
        if (python.Threads != torch.get_num_threads() || python.SteadyMalloc != settings.SteadyMalloc)
        {
            throw new InvalidOperationException($"PyTorch runs {python.Threads} threads (ours {torch.get_num_threads()}), steady malloc {python.SteadyMalloc}.");
        }

        using var workload = new Workload(options);
        if (python.ParameterCounts.GetValueOrDefault(Command) != workload.ParameterCount)
        {
            throw new InvalidOperationException(string.Create(s_invariant,
                $"our UNet has {workload.ParameterCount} parameters, PyTorch's {python.ParameterCounts.GetValueOrDefault(Command)}; the two sides no longer match."));
        }

        var (batch, channels, size) = (settings.BatchSize, settings.Channels, settings.ImageSize);
        var seeds = Enumerable.Range(0, batch).Select(i => FirstSeed + i).ToArray();
        var useeds = seeds.Select(s => (ulong)s).ToArray();
        long[] shape = [batch, channels, size, size];
        var encoding = PixelEncoding.ModelSpace(channels);

        WriteHeader(settings, python, workload, output);
        var rssModel = ProcessMemory.CurrentRssKiB();

        // The generator graphs: N steps and 1 step, exactly as DiffusionModel.ToOnnx builds them (ε prediction, the model
        // space encoding, no guidance), plus the N-step graph with x_T and the final model-space x as extra outputs.
        DiffusionSampler Sampler(int steps) => GeneratorGraph.CreateSampler(workload.NoiseSchedule, PredictionType.Epsilon, SamplerKind.DpmSolverPlusPlus, steps);
        var graphN = GeneratorGraph.Build(workload.Network, Sampler(n), encoding, 1, false, []);
        var bytesN = graphN.ToByteArray();
        var bytes1 = GeneratorGraph.Build(workload.Network, Sampler(1), encoding, 1, false, []).ToByteArray();
        var (checkBytes, loopInput, loopOutput) = WithModelSpaceOutputs(graphN, channels, size);

        // --- Agreement -------------------------------------------------------------------------------------------------
        var rssTorch = Check(workload, python, checkBytes, loopInput, loopOutput, settings, seeds, useeds, shape, encoding, output);
        output.WriteLine();

        // --- Timing ------------------------------------------------------------------------------------------------------
        using var ortN = new OnnxGenerator(bytesN, settings.Threads);
        using var ort1 = new OnnxGenerator(bytes1, settings.Threads);
        var denoiser = UNetDenoiser.Create(workload.Network);
        var engines = new List<Engine>
        {
            new("ONNX Runtime", n, steps => Time(() => (steps == 1 ? ort1 : ortN).Generate(seeds))),
            new("TorchSharp", n, steps => Time(() =>
            {
                using var noise = SampleNoise.PerSample(useeds);
                var sampler = GeneratorGraph.CreateSampler(workload.NoiseSchedule, PredictionType.Epsilon, SamplerKind.DpmSolverPlusPlus, steps);
                SamplingLoop.Run(sampler, denoiser, shape, noise, steps).Dispose();
            })),
            new("PyTorch", n, steps => python.RunSampling(1, steps).Ms[0]),
        };
        var sessions = new List<IDisposable>();
        try
        {
            // Warm-up, ONNX Runtime's shipped sessions first: the resident set after them is what ONNX Runtime added.
            for (var w = 0; w < settings.Warmup; w++)
            {
                engines[0].Run(n);
                engines[0].Run(1);
            }

            var rssOnnx = ProcessMemory.CurrentRssKiB();
            if (settings.OrtVariants)
            {
                var outside = (WeightsOutsideLoopBody(bytesN), WeightsOutsideLoopBody(bytes1));
                foreach (var (name, make, graphs) in Variants().Select(v => (v.Name, v.Options, (bytesN, bytes1)))
                    .Append(("ORT, weights outside the Loop body", t => Options(t, _ => { }), outside))
                    .Append(("ORT, weights outside, spinning threads", t => Options(t, _ => { }, spinning: true), outside)))
                {
                    var (vN, v1) = (new OrtRun(graphs.Item1, make(settings.Threads), seeds), new OrtRun(graphs.Item2, make(settings.Threads), seeds));
                    sessions.Add(vN);
                    sessions.Add(v1);
                    engines.Add(new(name, n, steps => Time((steps == 1 ? v1 : vN).Run)));
                }
            }

            foreach (var engine in engines.Skip(1))
            {
                for (var w = 0; w < settings.Warmup; w++)
                {
                    engine.Run(n);
                    engine.Run(1);
                }
            }

            TimeRounds(engines, settings, output);
            WriteSummary(engines, settings, output);
            WriteMemory(python, rssModel, rssTorch, rssOnnx, settings, output);
            if (settings.Profile)
            {
                output.WriteLine();
                Profile(workload, graphN, bytesN, settings, seeds, python, output);
            }
        }
        finally
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
        }
    }

    // --- Agreement ----------------------------------------------------------------------------------------------------

    // Returns the resident set size after TorchSharp's run, before ONNX Runtime's first session.
    private static long? Check(Workload workload, PythonReference python, byte[] checkBytes, string loopInput, string loopOutput, OnnxSampleOptions settings,
        long[] seeds, ulong[] useeds, long[] shape, PixelEncoding encoding, TextWriter output)
    {
        var n = settings.Steps;
        using var scope = torch.NewDisposeScope();
        Tensor initial, ours;
        using (var noise = SampleNoise.PerSample(useeds))
        {
            initial = noise.Initial(shape);
        }

        using (var noise = SampleNoise.PerSample(useeds))
        {
            var sampler = GeneratorGraph.CreateSampler(workload.NoiseSchedule, PredictionType.Epsilon, SamplerKind.DpmSolverPlusPlus, n);
            ours = SamplingLoop.Run(sampler, UNetDenoiser.Create(workload.Network), shape, noise, n);
        }

        var stem = Path.Combine(Path.GetTempPath(), string.Create(s_invariant, $"mlnd-onnx-bench-{Environment.ProcessId}"));
        var (path, theirPath) = (stem + ".safetensors", stem + "-pytorch.safetensors");
        Tensor theirs;
        try
        {
            Safetensors.Save(path, workload.Network.named_parameters().Select(p => KeyValuePair.Create($"{Command}.{p.name}", (Tensor)p.parameter))
                .Append(new($"{Command}.noise", initial)));
            python.Check(path, theirPath);
            using var loaded = Safetensors.Load(theirPath);
            theirs = loaded.Tensors[$"{Command}.x"].clone();
        }
        finally
        {
            File.Delete(path);
            File.Delete(theirPath);
        }

        // ONNX Runtime last, so that the resident set before it is what TorchSharp's run left.
        var rssBeforeOnnx = ProcessMemory.CurrentRssKiB();
        float[] ortNoise, ortX, ortPixels;
        using (var check = new OrtRun(checkBytes, Options(settings.Threads, _ => { }), seeds))
        {
            var outputs = check.Run([loopInput, loopOutput, "pixels"]);
            (ortNoise, ortX, ortPixels) = (outputs[0], outputs[1], outputs[2]);
        }

        var ortInitial = torch.tensor(ortNoise, shape);
        var ortFinal = torch.tensor(ortX, shape);
        var noiseDifference = (ortInitial - initial).abs().max().ToDouble();
        output.WriteLine(string.Create(s_invariant,
            $"check x_T: ONNX Runtime's counter-based noise from the seeds against SampleNoise.Initial of the same seeds: largest difference {noiseDifference:G3} (must be 0, bit for bit)"));
        var pairs = new (string Label, Tensor A, Tensor B)[]
        {
            ("ONNX Runtime vs TorchSharp", ortFinal, ours),
            ("PyTorch vs TorchSharp", theirs, ours),
            ("ONNX Runtime vs PyTorch", ortFinal, theirs),
        };
        var worst = 0.0;
        foreach (var (label, a, b) in pairs)
        {
            var difference = Agreement.RelativeDifference(a, b);
            worst = Math.Max(worst, difference);
            output.WriteLine(string.Create(s_invariant,
                $"check final x of {n} DPM-Solver++ steps (model space, before the pixel conversion), {label}: largest difference {difference:G2} of the largest |x| ({b.abs().max().ToDouble():G4}); tolerance {Tolerance:G2}"));
        }

        if (settings.OrtVariants)
        {
            // The variant with the weights moved into the Loop body runs other convolution kernels (NCHWc): it must
            // compute the same samples too.
            using var outside = new OrtRun(WeightsOutsideLoopBody(checkBytes), Options(settings.Threads, _ => { }), seeds);
            var outsideFinal = torch.tensor(outside.Run([loopOutput])[0], shape);
            var difference = Agreement.RelativeDifference(outsideFinal, ours);
            worst = Math.Max(worst, difference);
            output.WriteLine(string.Create(s_invariant,
                $"check final x, ONNX Runtime with the weights outside the Loop body (--ort-variants) vs TorchSharp: largest difference {difference:G2} of the largest |x|; tolerance {Tolerance:G2}"));
        }

        // Pixels: the graph's own 0–255 output against TorchSharp's x through the same conversion.
        var ourPixels = ours.contiguous().data<float>().ToArray().Select(v => (float)encoding.ToPixel(v)).ToArray();
        var differing = ourPixels.Zip(ortPixels).Count(p => p.First != p.Second);
        var largest = ourPixels.Zip(ortPixels).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine(string.Create(s_invariant,
            $"check pixels: ONNX Runtime's 0–255 output against TorchSharp's x converted alike: {differing} of {ourPixels.Length} differ, by at most {largest:G3}"));
        if (noiseDifference != 0 || !(worst <= Tolerance))
        {
            throw new InvalidOperationException(string.Create(s_invariant,
                $"the engines disagree (x_T difference {noiseDifference:G3}, final x {worst:G3} > {Tolerance:G2}); the timings would not compare the same computation."));
        }

        output.WriteLine("agreement: the three engines compute the same samples, within the tolerance above");
        return rssBeforeOnnx;
    }

    // The N-step graph with two more outputs: the Loop's initial x (x_T) and its final x (model space).
    private static (byte[] Bytes, string LoopInput, string LoopOutput) WithModelSpaceOutputs(ModelProto graph, int channels, int size)
    {
        var copy = graph.Clone();
        var loop = copy.Graph.Node.Single(node => node.OpType == "Loop");
        var (input, output) = (loop.Input[2], loop.Output[0]);
        copy.Graph.Output.Add(OnnxGraph.Value(input, TensorProto.Types.DataType.Float, [null, channels, size, size]));
        copy.Graph.Output.Add(OnnxGraph.Value(output, TensorProto.Types.DataType.Float, [null, channels, size, size]));
        return (copy.ToByteArray(), input, output);
    }

    /// <summary>
    /// The graph with the initializers that only the Loop body reads (the UNet's weights, the sampler's tables) moved
    /// from the main graph into the body. ONNX Runtime's layout optimization (NchwcTransformer: blocked NCHWc
    /// convolutions) only rewrites a Conv whose weights are initializers of the Conv's own graph; read from the outer
    /// scope, as GeneratorGraph builds them, all of the step's convolutions stay plain Conv.
    /// </summary>
    // The layout GeneratorGraph wrote before: the body's initializers (the UNet's weights, the step tables) moved to the
    // main graph, read by the body from the outer scope. ONNX Runtime then keeps the body's Conv nodes off its blocked
    // NCHWc kernels (bench/README.md), which this variant shows.
    private static byte[] WeightsOutsideLoopBody(byte[] bytes)
    {
        var model = ModelProto.Parser.ParseFrom(bytes);
        var loop = model.Graph.Node.Single(node => node.OpType == "Loop");
        var body = loop.Attribute.Single(a => a.Name == "body").G;
        foreach (var initializer in body.Initializer.ToList())
        {
            body.Initializer.Remove(initializer);
            model.Graph.Initializer.Add(initializer);
        }

        return model.ToByteArray();
    }

    // --- Timing -------------------------------------------------------------------------------------------------------

    private static void TimeRounds(List<Engine> engines, OnnxSampleOptions settings, TextWriter output)
    {
        var n = settings.Steps;
        for (var round = 0; round < settings.Rounds; round++)
        {
            // Rotate who goes first, and alternate the order of the long and the short run, so drift favours no engine.
            var order = Enumerable.Range(0, engines.Count).Select(i => engines[(i + round) % engines.Count]);
            foreach (var engine in order)
            {
                double tn, t1;
                if (round % 2 == 0)
                {
                    tn = engine.Run(n);
                    t1 = engine.Run(1);
                }
                else
                {
                    t1 = engine.Run(1);
                    tn = engine.Run(n);
                }

                engine.Rounds.Add((tn, t1));
            }

            var (ort, ts, pt) = (engines[0].PerStep[round], engines[1].PerStep[round], engines[2].PerStep[round]);
            var variants = string.Concat(engines.Skip(3).Select(e => string.Create(s_invariant, $"  [{e.Name}: {e.PerStep[round]:F2} ms]")));
            output.WriteLine(string.Create(s_invariant,
                $"round {round + 1}/{settings.Rounds}  per step: ONNX Runtime {ort,8:F2} ms  TorchSharp {ts,8:F2} ms  PyTorch {pt,8:F2} ms   ORT/TorchSharp {ort / ts,5:F3}  PyTorch/ORT {pt / ort,5:F3}{variants}"));
        }
    }

    private static void WriteSummary(List<Engine> engines, OnnxSampleOptions settings, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine(string.Create(s_invariant,
            $"per step = (T_{settings.Steps} − T_1)/{settings.Steps - 1}, medians over {settings.Rounds} round(s); T_N: a whole N-step generation of {settings.BatchSize} images; T_1 − step: the fixed cost of a run (x_T, set-up, pixels), a noisy difference"));
        output.WriteLine(string.Create(s_invariant, $"{"engine",-38} {"per step ms",12} {"min",9} {"T_N ms",10} {"T_1 ms",9} {"T_1 − step",11} {"images/s",9}"));
        foreach (var engine in engines)
        {
            var perStep = Timing.Median(engine.PerStep);
            output.WriteLine(string.Create(s_invariant,
                $"{engine.Name,-38} {perStep,12:F2} {engine.PerStep.Min(),9:F2} {Timing.Median(engine.Rounds.Select(r => r.N)),10:F1} {Timing.Median(engine.Rounds.Select(r => r.One)),9:F1} {Timing.Median(engine.Rounds.Select((r, i) => r.One - engine.PerStep[i])),11:F1} {settings.BatchSize * 1000 / perStep,9:F1}"));
        }

        output.WriteLine();
        WriteRatio("ORT/TorchSharp per step", engines[0], engines[1], "below 1: ONNX Runtime is faster", output);
        WriteRatio("PyTorch/ORT per step", engines[2], engines[0], "above 1: ONNX Runtime is faster", output);
        foreach (var variant in engines.Skip(3))
        {
            WriteRatio($"{variant.Name} / shipped", variant, engines[0], "above 1: slower than the shipped settings", output);
        }

        foreach (var variant in engines.Skip(3))
        {
            WriteRatio($"{variant.Name} / TorchSharp", variant, engines[1], "below 1: faster than TorchSharp", output);
        }
    }

    private static void WriteRatio(string label, Engine numerator, Engine denominator, string meaning, TextWriter output)
    {
        var perRound = numerator.PerStep.Zip(denominator.PerStep, (a, b) => a / b).ToArray();
        output.WriteLine(string.Create(s_invariant,
            $"{label,-56} {Timing.Median(numerator.PerStep) / Timing.Median(denominator.PerStep),6:F3}   per round {perRound.Min():F3} – {perRound.Max():F3}   ({meaning})"));
    }

    private static void WriteMemory(PythonReference python, long? model, long? torchRun, long? onnx, OnnxSampleOptions settings, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine(string.Create(s_invariant,
            $"RSS of ours (TorchSharp and ONNX Runtime in one process): {Mib(model)} with the model built; {Mib(torchRun)} after TorchSharp's first {settings.Steps}-step run (+{Mib(torchRun - model)}); " +
            $"{Mib(onnx)} after ONNX Runtime's check run and its two timed sessions' warm-up (+{Mib(onnx - torchRun)}); peak {Mib(ProcessMemory.PeakRssKiB())}{(settings.OrtVariants ? " (with the variants' sessions)" : "")}"));
        output.WriteLine(string.Create(s_invariant, $"peak RSS of PyTorch's process: {Mib(python.PeakRssKiB())}"));
    }

    private static string Mib(long? kib) => kib is { } k ? string.Create(s_invariant, $"{k / 1024.0:F1} MiB") : "n/a";

    private static double Time(Action run)
    {
        var start = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    // --- ONNX Runtime sessions ------------------------------------------------------------------------------------------

    // OnnxGenerator's settings (intra-op threads, one inter-op thread, no spinning, the default optimization level), then
    // the variant's change.
    private static SessionOptions Options(int threads, Action<SessionOptions> configure, bool spinning = false)
    {
        var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning ? "1" : "0");
        configure(options);
        return options;
    }

    private static IEnumerable<(string Name, Func<int, SessionOptions> Options)> Variants() =>
    [
        ("ORT, optimizations off", t => Options(t, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL)),
        ("ORT, basic optimizations", t => Options(t, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC)),
        ("ORT, extended optimizations", t => Options(t, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED)),
        ("ORT, spinning threads", t => Options(t, _ => { }, spinning: true)),
        ("ORT, no CPU memory arena", t => Options(t, o => o.EnableCpuMemArena = false)),
    ];

    // --- Profiles -----------------------------------------------------------------------------------------------------

    private static void Profile(Workload workload, ModelProto graph, byte[] bytes, OnnxSampleOptions settings, long[] seeds, PythonReference python, TextWriter output)
    {
        var n = settings.Steps;
        var folder = Path.Combine(Path.GetTempPath(), string.Create(s_invariant, $"mlnd-onnx-profile-{Environment.ProcessId}"));
        Directory.CreateDirectory(folder);
        try
        {
            var before = BodyOps(graph);
            output.WriteLine(string.Create(s_invariant, $"ONNX Runtime's step graph (the Loop body), {before.Values.Sum()} nodes as built: {FormatCounts(before)}"));
            foreach (var (label, graphBytes, file) in new[] { ("as built", bytes, "built"), ("with the weights outside the Loop body", WeightsOutsideLoopBody(bytes), "outside") })
            {
                // The step graph after ONNX Runtime's optimizations (the shipped level).
                var optimizedPath = Path.Combine(folder, file + ".onnx");
                using (var options = Options(settings.Threads, o =>
                {
                    o.OptimizedModelFilePath = optimizedPath;
                    o.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;  // not the warning that NCHWc graphs are machine-specific
                }))
                using (new InferenceSession(graphBytes, options))
                {
                }

                var after = BodyOps(ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath)));
                output.WriteLine(string.Create(s_invariant,
                    $"  {label}, after its optimizations ({Options(1, _ => { }).GraphOptimizationLevel}): {after.Values.Sum()} nodes: {FormatCounts(after)}"));

                // One N-step run under ONNX Runtime's profiler; the second of two runs is read.
                using var run = new OrtRun(graphBytes, Options(settings.Threads, o =>
                {
                    o.EnableProfiling = true;
                    o.ProfileOutputPathPrefix = Path.Combine(folder, file);
                }), seeds);
                run.Run();
                run.Run();
                WriteOrtProfile(run.EndProfiling(), n, output);
            }

            // The same UNet as a plain graph (no Loop around it): how ONNX Runtime optimizes it there, and how long one
            // evaluation takes.
            PlainUNet(workload, settings, folder, output);

            var (total, ops) = python.ProfileSampling(n);
            var sum = ops.Values.Sum(o => o.Ms);
            output.WriteLine(string.Create(s_invariant,
                $"PyTorch profile of one {n}-step run (torch.autograd.profiler, self CPU time; wall {total:F1} ms with the profiler, operators {sum:F1} ms), per step:"));
            foreach (var (name, (ms, calls)) in ops.OrderByDescending(o => o.Value.Ms).Take(12))
            {
                output.WriteLine(string.Create(s_invariant, $"  {name,-36} {ms / n,9:F2} ms {100 * ms / sum,6:F1} %  {calls / (double)n,7:F1} calls"));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // One UNet evaluation as a graph of its own, inputs x [B, C, S, S] and the time embedding [1, D]: its node counts
    // after optimization and the median time of one evaluation (after one warm-up), against the Loop's per-step time.
    private static void PlainUNet(Workload workload, OnnxSampleOptions settings, string folder, TextWriter output)
    {
        var config = workload.Network.Config;
        var g = new OnnxGraph("unet_step");
        g.Input("x", TensorProto.Types.DataType.Float, [null, config.InChannels, config.ImageSize, config.ImageSize]);
        g.Input("embedding", TensorProto.Types.DataType.Float, [1, config.BaseChannels]);
        UNetGraph.AddWeights(g, workload.Network);
        g.NodeInto("Identity", [UNetGraph.Emit(g, config, "x", "embedding", null)], ["output"]);
        g.Output("output", TensorProto.Types.DataType.Float, [null, config.InChannels, config.ImageSize, config.ImageSize]);
        var bytes = g.ToModel().ToByteArray();
        var optimizedPath = Path.Combine(folder, "plain.onnx");
        using var options = Options(settings.Threads, o =>
        {
            o.OptimizedModelFilePath = optimizedPath;
            o.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        });
        using var session = new InferenceSession(bytes, options);
        var optimized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath)).Graph.Node
            .GroupBy(node => string.IsNullOrEmpty(node.Domain) ? node.OpType : $"{node.Domain}:{node.OpType}").ToDictionary(n => n.Key, n => n.Count());
        output.WriteLine(string.Create(s_invariant,
            $"the same UNet as a plain graph (no Loop), {g.Proto.Node.Count} nodes as built, after its optimizations {optimized.Values.Sum()}: {FormatCounts(optimized)}"));

        var x = new float[settings.BatchSize * config.InChannels * config.ImageSize * config.ImageSize];
        var random = new Random(1);
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = (float)((random.NextDouble() * 2) - 1);
        }

        float[] embedding;
        using (torch.NewDisposeScope())
        {
            embedding = UNet2D.TimestepEmbedding(torch.tensor(new long[] { 500 }), config.BaseChannels, torch.CPU).contiguous().data<float>().ToArray();
        }

        var inputs = new[]
        {
            NamedOnnxValue.CreateFromTensor("x", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [settings.BatchSize, config.InChannels, config.ImageSize, config.ImageSize])),
            NamedOnnxValue.CreateFromTensor("embedding", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(embedding, [1, config.BaseChannels])),
        };
        var times = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            var ms = Time(() =>
            {
                using var results = session.Run(inputs);
            });
            if (i > 0)
            {
                times.Add(ms);
            }
        }

        output.WriteLine(string.Create(s_invariant,
            $"  one evaluation of the plain graph: median {Timing.Median(times):F2} ms (min {times.Min():F2}) over {times.Count} runs, batch {settings.BatchSize}"));
    }

    private static void WriteOrtProfile(string file, int n, TextWriter output)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var events = document.RootElement.ValueKind == JsonValueKind.Array ? document.RootElement : document.RootElement.GetProperty("traceEvents");
        var runs = events.EnumerateArray().Where(e => e.GetProperty("name").GetString() == "model_run").ToList();
        var last = runs[^1];
        var (start, end) = (last.GetProperty("ts").GetInt64(), last.GetProperty("ts").GetInt64() + last.GetProperty("dur").GetInt64());
        var nodes = events.EnumerateArray()
            .Where(e => e.GetProperty("cat").GetString() == "Node" && (e.GetProperty("name").GetString() ?? "").EndsWith("_kernel_time", StringComparison.Ordinal))
            .Select(e => (Op: e.GetProperty("args").GetProperty("op_name").GetString() ?? "?", Ts: e.GetProperty("ts").GetInt64(), Dur: e.GetProperty("dur").GetInt64()))
            .Where(e => e.Ts >= start && e.Ts <= end)
            .ToList();
        var loops = nodes.Where(e => e.Op == "Loop").ToList();
        var inLoop = nodes.Where(e => e.Op != "Loop" && loops.Any(l => e.Ts >= l.Ts && e.Ts <= l.Ts + l.Dur)).ToList();
        var outside = nodes.Where(e => e.Op != "Loop" && !inLoop.Contains(e)).Sum(e => e.Dur);
        var (loopUs, bodyUs) = (loops.Sum(l => l.Dur), inLoop.Sum(e => e.Dur));
        output.WriteLine(string.Create(s_invariant,
            $"  its profile, one {n}-step run: run {(end - start) / 1000.0:F1} ms, Loop {loopUs / 1000.0:F1} ms of which its body's kernels {bodyUs / 1000.0:F1} ms (Loop and executor overhead {(loopUs - bodyUs) / 1000.0 / n:F2} ms per step), nodes outside the Loop (x_T, pixels) {outside / 1000.0:F2} ms; per step:"));
        foreach (var group in inLoop.GroupBy(e => e.Op).OrderByDescending(g => g.Sum(e => e.Dur)).Take(16))
        {
            var us = group.Sum(e => e.Dur);
            output.WriteLine(string.Create(s_invariant,
                $"    {group.Key,-34} {us / 1000.0 / n,9:F2} ms {100.0 * us / bodyUs,6:F1} %  {group.Count() / (double)n,7:F1} calls"));
        }
    }

    private static Dictionary<string, int> BodyOps(ModelProto model)
    {
        var loop = model.Graph.Node.Single(node => node.OpType == "Loop");
        var body = loop.Attribute.Single(a => a.Name == "body").G;
        return body.Node.GroupBy(node => string.IsNullOrEmpty(node.Domain) ? node.OpType : $"{node.Domain}:{node.OpType}")
            .ToDictionary(g => g.Key, g => g.Count());
    }

    private static string FormatCounts(Dictionary<string, int> counts) =>
        string.Join(", ", counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));

    private static void WriteHeader(OnnxSampleOptions settings, PythonReference python, Workload workload, TextWriter output)
    {
        output.WriteLine("MLNet.Diffusion: a DPM-Solver++ sampling step through ONNX Runtime, TorchSharp and PyTorch");
        using var defaults = new SessionOptions();
        output.WriteLine(string.Create(s_invariant,
            $"  ONNX Runtime {OrtEnv.Instance().GetVersionString()} (CPU; {settings.Threads} intra-op threads, no spinning, {defaults.GraphOptimizationLevel}, as OnnxGenerator sets it), in this process"));
        output.WriteLine(string.Create(s_invariant,
            $"  TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {torch.__version__}), {RuntimeInformation.FrameworkDescription}, {torch.get_num_threads()} threads, in this process"));
        output.WriteLine(string.Create(s_invariant,
            $"  PyTorch: torch {python.TorchVersion}, Python {python.PythonVersion} ({python.Executable}), {python.Threads} threads"));
        output.WriteLine(string.Create(s_invariant,
            $"  UNet {settings.Preset} ({workload.ParameterCount} parameters, weights perturbed by N(0, {UNetWorkload.WeightNoise}²)), batch {settings.BatchSize}, {settings.ImageSize}×{settings.ImageSize}×{settings.Channels}, DPM-Solver++(2M), {settings.Steps} and 1 steps"));
        output.WriteLine(string.Create(s_invariant,
            $"  {Environment.ProcessorCount} processors; {settings.Rounds} round(s) after {settings.Warmup} warm-up run(s); malloc {(settings.SteadyMalloc ? "steady" : "glibc defaults")} in both processes"));
        output.WriteLine();
    }

    // --- Pieces -------------------------------------------------------------------------------------------------------

    /// <summary>One engine: a whole generation of <c>steps</c> steps, timed in ms; each round's (T_N, T_1).</summary>
    private sealed class Engine(string name, int steps, Func<int, double> run)
    {
        public string Name { get; } = name;

        public List<(double N, double One)> Rounds { get; } = [];

        public double Run(int steps) => run(steps);

        public List<double> PerStep => [.. Rounds.Select(r => (r.N - r.One) / (steps - 1))];
    }

    /// <summary>A session of a generator graph with its own options, fed the same seeds every run.</summary>
    private sealed class OrtRun : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly NamedOnnxValue[] _inputs;

        public OrtRun(byte[] model, SessionOptions options, long[] seeds)
        {
            using (options)
            {
                _session = new InferenceSession(model, options);
            }

            _inputs = [NamedOnnxValue.CreateFromTensor("seed", new DenseTensor(seeds, [seeds.Length, 1]))];
        }

        // As OnnxGenerator.Generate: the pixels, copied out.
        public void Run() => _ = Run(["pixels"]);

        public float[][] Run(string[] outputs)
        {
            using var results = _session.Run(_inputs, outputs);
            return [.. results.Select(r => r.AsEnumerable<float>().ToArray())];
        }

        public string EndProfiling() => _session.EndProfiling();

        public void Dispose() => _session.Dispose();
    }

    /// <summary>The bench's UNet with perturbed weights (<see cref="UNetWorkload"/>), for the three engines.</summary>
    private sealed class Workload : UNetWorkload
    {
        public Workload(BenchOptions options)
            : base(options, "DPM-Solver++ sampling")
        {
            Model.eval();
        }

        public UNet2D Network => Model;

        public NoiseSchedule NoiseSchedule => Schedule;

        public override string Command => OnnxSampleBenchmark.Command;

        public override IReadOnlyList<string> ProbeLabels => [];

        public override IEnumerable<KeyValuePair<string, Tensor>> CheckTensors() => [];

        public override double[] Probe() => [];

        public override double[] Run(int iterations) => [];
    }
}
