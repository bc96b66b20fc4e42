using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace MLNet.Diffusion.Bench;

/// <summary>The ONNX Runtime settings and graph layouts <see cref="OnnxSampleBenchmark"/> times against the shipped ones.</summary>
internal static class OrtSessions
{
    // OnnxGenerator's settings (intra-op threads, one inter-op thread, no spinning, the default optimization level), then
    // the variant's change.
    public static SessionOptions Options(int threads, Action<SessionOptions> configure, bool spinning = false)
    {
        var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning ? "1" : "0");
        configure(options);
        return options;
    }

    public static IEnumerable<(string Name, Func<int, SessionOptions> Options)> Variants() =>
    [
        ("ORT, optimizations off", t => Options(t, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL)),
        ("ORT, basic optimizations", t => Options(t, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC)),
        ("ORT, extended optimizations", t => Options(t, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED)),
        ("ORT, spinning threads", t => Options(t, _ => { }, spinning: true)),
        ("ORT, no CPU memory arena", t => Options(t, o => o.EnableCpuMemArena = false)),
    ];

    // The graph with the initializers the Loop body reads (the UNet's weights, the step tables) moved out to the main
    // graph, read by the body from the outer scope. ONNX Runtime's layout optimization (NchwcTransformer: blocked NCHWc
    // convolutions) rewrites only a Conv whose weights are initializers of the Conv's own graph, so in this layout the
    // step's convolutions stay plain Conv (bench/README.md, "Where ONNX Runtime wins or loses").
    public static byte[] WeightsOutsideLoopBody(byte[] bytes)
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
}
