using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Onnx;
using Onnx;
using TorchSharp;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// <see cref="OnnxSampleBenchmark"/>'s <c>--profile</c>: ONNX Runtime's step graph before and after its optimizations,
/// per-operator profiles of one N-step run of ONNX Runtime and of PyTorch, and the same UNet as a plain graph.
/// </summary>
internal static class OnnxSampleProfile
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    public static void Write(OnnxSampleWorkload workload, ModelProto graph, byte[] bytes, OnnxSampleOptions settings, long[] seeds, PythonReference python, TextWriter output)
    {
        var n = settings.Steps;
        var folder = Path.Combine(Path.GetTempPath(), string.Create(s_invariant, $"mlnd-onnx-profile-{Environment.ProcessId}"));
        Directory.CreateDirectory(folder);
        try
        {
            var before = BodyOps(graph);
            output.WriteLine(string.Create(s_invariant, $"ONNX Runtime's step graph (the Loop body), {before.Values.Sum()} nodes as built: {FormatCounts(before)}"));
            foreach (var (label, graphBytes, file) in new[] { ("as built", bytes, "built"), ("with the weights outside the Loop body", OrtSessions.WeightsOutsideLoopBody(bytes), "outside") })
            {
                // The step graph after ONNX Runtime's optimizations (the shipped level).
                var optimizedPath = Path.Combine(folder, file + ".onnx");
                using (var options = OrtSessions.Options(settings.Threads, o =>
                {
                    o.OptimizedModelFilePath = optimizedPath;
                    o.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;  // not the warning that NCHWc graphs are machine-specific
                }))
                using (new InferenceSession(graphBytes, options))
                {
                }

                var after = BodyOps(ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath)));
                output.WriteLine(string.Create(s_invariant,
                    $"  {label}, after its optimizations ({OrtSessions.Options(1, _ => { }).GraphOptimizationLevel}): {after.Values.Sum()} nodes: {FormatCounts(after)}"));

                // One N-step run under ONNX Runtime's profiler; the second of two runs is read.
                using var run = new OrtRun(graphBytes, OrtSessions.Options(settings.Threads, o =>
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
    private static void PlainUNet(OnnxSampleWorkload workload, OnnxSampleOptions settings, string folder, TextWriter output)
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
        using var options = OrtSessions.Options(settings.Threads, o =>
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
            var ms = Timing.Once(() =>
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
}
