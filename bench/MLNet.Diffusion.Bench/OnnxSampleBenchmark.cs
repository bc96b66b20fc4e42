using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Diffusion.Onnx;
using TorchSharp;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Sampling;

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
/// start from <see cref="SamplingNoise.Initial"/> of the same seeds. A copy of the N-step graph also outputs its x_T and
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

    /// <summary>The command torch_bench.py runs this benchmark's sampling by, and the prefix of the tensors it exchanges.</summary>
    internal const string Command = "sample-run";

    private const int Seed = 0;
    private const long FirstSeed = 1000;
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

        using var workload = new OnnxSampleWorkload(options);
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
        DiffusionSampler Sampler(int steps) => GeneratorGraph.CreateSampler(workload.NoiseSchedule, PredictionType.Epsilon, Samplers.DpmSolverPlusPlus, steps);
        var graphN = GeneratorGraph.Build(workload.Network, Sampler(n), encoding, 1, false, []);
        var bytesN = graphN.ToByteArray();
        var bytes1 = GeneratorGraph.Build(workload.Network, Sampler(1), encoding, 1, false, []).ToByteArray();
        var (checkBytes, loopInput, loopOutput) = OnnxSampleAgreement.WithModelSpaceOutputs(graphN, channels, size);

        // --- Agreement -------------------------------------------------------------------------------------------------
        var rssTorch = OnnxSampleAgreement.Check(workload, python, checkBytes, loopInput, loopOutput, settings, seeds, useeds, shape, encoding, output);
        output.WriteLine();

        // --- Timing ------------------------------------------------------------------------------------------------------
        using var ortN = new OnnxGenerator(bytesN, settings.Threads);
        using var ort1 = new OnnxGenerator(bytes1, settings.Threads);
        var denoiser = UNetDenoiser.Create(workload.Network);
        var engines = new List<TimedEngine>
        {
            new("ONNX Runtime", n, steps => Timing.Once(() => (steps == 1 ? ort1 : ortN).Generate(seeds))),
            new("TorchSharp", n, steps => Timing.Once(() =>
            {
                using var noise = SamplingNoise.PerSample(useeds);
                var sampler = GeneratorGraph.CreateSampler(workload.NoiseSchedule, PredictionType.Epsilon, Samplers.DpmSolverPlusPlus, steps);
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
                var outside = (OrtSessions.WeightsOutsideLoopBody(bytesN), OrtSessions.WeightsOutsideLoopBody(bytes1));
                foreach (var (name, make, graphs) in OrtSessions.Variants().Select(v => (v.Name, v.Options, (bytesN, bytes1)))
                    .Append(("ORT, weights outside the Loop body", t => OrtSessions.Options(t, _ => { }), outside))
                    .Append(("ORT, weights outside, spinning threads", t => OrtSessions.Options(t, _ => { }, spinning: true), outside)))
                {
                    var (vN, v1) = (new OrtRun(graphs.Item1, make(settings.Threads), seeds), new OrtRun(graphs.Item2, make(settings.Threads), seeds));
                    sessions.Add(vN);
                    sessions.Add(v1);
                    engines.Add(new(name, n, steps => Timing.Once((steps == 1 ? v1 : vN).Run)));
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

            OnnxSampleTiming.TimeRounds(engines, settings, output);
            OnnxSampleTiming.WriteSummary(engines, settings, output);
            OnnxSampleTiming.WriteMemory(python, rssModel, rssTorch, rssOnnx, settings, output);
            if (settings.Profile)
            {
                output.WriteLine();
                OnnxSampleProfile.Write(workload, graphN, bytesN, settings, seeds, python, output);
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

    private static void WriteHeader(OnnxSampleOptions settings, PythonReference python, OnnxSampleWorkload workload, TextWriter output)
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
}
