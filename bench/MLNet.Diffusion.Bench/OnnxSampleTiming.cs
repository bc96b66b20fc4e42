using System.Globalization;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// <see cref="OnnxSampleBenchmark"/>'s timed rounds and their report: per-step times, the ratios between engines with
/// their spread over rounds, and the resident set of both processes.
/// </summary>
internal static class OnnxSampleTiming
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    public static void TimeRounds(List<TimedEngine> engines, OnnxSampleOptions settings, TextWriter output)
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

    public static void WriteSummary(List<TimedEngine> engines, OnnxSampleOptions settings, TextWriter output)
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

    private static void WriteRatio(string label, TimedEngine numerator, TimedEngine denominator, string meaning, TextWriter output)
    {
        var perRound = numerator.PerStep.Zip(denominator.PerStep, (a, b) => a / b).ToArray();
        output.WriteLine(string.Create(s_invariant,
            $"{label,-56} {Timing.Median(numerator.PerStep) / Timing.Median(denominator.PerStep),6:F3}   per round {perRound.Min():F3} – {perRound.Max():F3}   ({meaning})"));
    }

    public static void WriteMemory(PythonReference python, long? model, long? torchRun, long? onnx, OnnxSampleOptions settings, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine(string.Create(s_invariant,
            $"RSS of ours (TorchSharp and ONNX Runtime in one process): {Mib(model)} with the model built; {Mib(torchRun)} after TorchSharp's first {settings.Steps}-step run (+{Mib(torchRun - model)}); " +
            $"{Mib(onnx)} after ONNX Runtime's check run and its two timed sessions' warm-up (+{Mib(onnx - torchRun)}); peak {Mib(ProcessMemory.PeakRssKiB())}{(settings.OrtVariants ? " (with the variants' sessions)" : "")}"));
        output.WriteLine(string.Create(s_invariant, $"peak RSS of PyTorch's process: {Mib(python.PeakRssKiB())}"));
    }

    private static string Mib(long? kib) => kib is { } k ? string.Create(s_invariant, $"{k / 1024.0:F1} MiB") : "n/a";
}
