using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Onnx;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNet.Diffusion.Tests.Onnx;

/// <summary>
/// <see cref="UNetGraph"/>'s ONNX nodes, run by ONNX Runtime, against <see cref="UNet2D.Forward"/> on the same weights.
/// Every parameter is perturbed first: a new UNet's output convolution is zero, so it would output 0 whatever the rest
/// of the graph computed.
/// </summary>
[TestClass]
public sealed class UNetGraphTests
{
    [TestMethod]
    [DataRow("tiny", 8, 1)]
    [DataRow("small", 16, 3)]
    [DataRow("ddpm-cifar10", 16, 3)]  // its attention is at 16 px, so 16 is its smallest size
    public void Emit_MatchesTorch_ForEachPreset(string preset, int size, int channels)
    {
        using var network = PerturbedNetwork(UNetConfig.Preset(preset, size, channels), seed: 1);
        AssertMatchesTorch(network, timesteps: [500, 500], labels: null, embeddingRows: 1);
    }

    [TestMethod]
    [DataRow("tiny", 8, 1, 3)]
    [DataRow("small", 16, 3, 10)]
    public void Emit_MatchesTorch_ForClassConditionalModels_WithALabelAndTheNullLabel(string preset, int size, int channels, int classes)
    {
        using var network = PerturbedNetwork(UNetConfig.Preset(preset, size, channels, classes), seed: 2);
        AssertMatchesTorch(network, timesteps: [500, 500], labels: [1, classes], embeddingRows: 1);
    }

    [TestMethod]
    public void Emit_MatchesTorch_WithOneTimestepEmbeddingPerSample()
    {
        using var network = PerturbedNetwork(UNetConfig.Preset("tiny", 8, 3, numClasses: 2), seed: 3);
        AssertMatchesTorch(network, timesteps: [10, 900], labels: [0, 2], embeddingRows: 2);
    }

    [TestMethod]
    public void Emit_KeepsTheBatchSizeDynamic()
    {
        using var network = PerturbedNetwork(UNetConfig.Preset("tiny", 8, 1), seed: 4);
        using var session = Session(network, embeddingRows: 1);
        foreach (var batch in new[] { 1, 3 })
        {
            AssertMatchesTorch(network, session, [.. Enumerable.Repeat(250L, batch)], labels: null, embeddingRows: 1);
        }
    }

    [TestMethod]
    public void Emit_InALoopBody_ReadsTheRootsWeightsAndInputs()
    {
        // Two iterations of x ← unet(x) in a Loop whose body sees the weights and emb only through the outer scope.
        using var network = PerturbedNetwork(UNetConfig.Preset("tiny", 8, 1), seed: 5);
        var config = network.Config;
        var graph = new OnnxGraph("loop");
        graph.Input("x", DataType.Float, [null, 1, 8, 8]);
        graph.Input("emb", DataType.Float, [1, config.BaseChannels]);
        UNetGraph.AddWeights(graph, network);
        var body = graph.Subgraph("body");
        body.Proto.Input.Add(OnnxGraph.Value("iteration", DataType.Int64, []));
        body.Proto.Input.Add(OnnxGraph.Value("condition", DataType.Bool, []));
        body.Proto.Input.Add(OnnxGraph.Value("x_in", DataType.Float, null));
        body.NodeInto("Identity", ["condition"], ["condition_out"]);
        body.NodeInto("Identity", [UNetGraph.Emit(body, config, "x_in", "emb", null)], ["x_out"]);
        body.Proto.Output.Add(OnnxGraph.Value("condition_out", DataType.Bool, []));
        body.Proto.Output.Add(OnnxGraph.Value("x_out", DataType.Float, null));
        var always = graph.Initializer("always", DataType.Bool, [1]);
        graph.NodeInto("Loop", [graph.Int64Scalar(2), always, "x"], ["y"], ("body", body.Proto));
        graph.Output("y", DataType.Float, [null, 1, 8, 8]);
        Assert.IsEmpty(body.Proto.Initializer);

        using var session = new InferenceSession(Model(graph).ToByteArray());
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        torch.random.manual_seed(6);
        var x = torch.randn([2, 1, 8, 8]);
        var steps = torch.tensor(new long[] { 500, 500 });
        var expected = network.Forward(network.Forward(x, steps), steps).data<float>().ToArray();
        var embedding = UNet2D.TimestepEmbedding(steps.slice(0, 0, 1, 1), config.BaseChannels, torch.CPU);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", Dense(x)), NamedOnnxValue.CreateFromTensor("emb", Dense(embedding))]);
        var actual = results.Single().AsTensor<float>().ToArray();
        var largest = expected.Max(Math.Abs);
        var difference = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Console.WriteLine($"two iterations: max |torch| {largest:G4}, max |onnx − torch| {difference:G3}");
        Assert.IsGreaterThan(0.01f, largest);
        Assert.IsLessThanOrEqualTo(1e-4 * Math.Max(1, largest), difference);
    }

    [TestMethod]
    public void AddWeights_AddsEveryStateDictEntry_WithItsShape()
    {
        using var network = new UNet2D(UNetConfig.Preset("tiny", 8, 1, numClasses: 2));
        var graph = new OnnxGraph("weights");
        UNetGraph.AddWeights(graph.Subgraph("body"), network);  // from a subgraph: they still go to the root
        var initializers = graph.Proto.Initializer.ToDictionary(t => t.Name);
        var stateDict = network.state_dict();
        Assert.HasCount(stateDict.Count, initializers);
        var own = graph.Subgraph("own", ownInitializers: true);  // a body that keeps its own: they go to the body
        UNetGraph.AddWeights(own, network);
        Assert.HasCount(stateDict.Count, own.Proto.Initializer);
        Assert.HasCount(stateDict.Count, graph.Proto.Initializer);
        foreach (var (name, tensor) in stateDict)
        {
            var initializer = initializers["unet." + name];
            CollectionAssert.AreEqual(tensor.shape, initializer.Dims.ToArray(), name);
            Assert.AreEqual((int)DataType.Float, initializer.DataType, name);
            Assert.AreEqual(tensor.numel() * sizeof(float), initializer.RawData.Length, name);
        }

        var first = stateDict.First();
        CollectionAssert.AreEqual(first.Value.data<float>().ToArray(), initializers["unet." + first.Key].RawData.ToByteArray().Chunk(4).Select(b => BitConverter.ToSingle(b)).ToArray());
    }

    [TestMethod]
    public void GroupNormEpsilon_IsTorchSharpsDefault()
    {
        // Layers.GroupNorm calls nn.GroupNorm without an eps: the graph must use the default that call gets.
        var eps = typeof(torch.nn).GetMethods().Single(m => m.Name == "GroupNorm").GetParameters().Single(p => p.Name == "eps");
        Assert.AreEqual(UNetGraph.GroupNormEpsilon, (float)(double)eps.DefaultValue!);
    }

    [TestMethod]
    public void Emit_RejectsLabelsThatDoNotMatchTheModel()
    {
        var unconditional = UNetConfig.Preset("tiny", 8, 1);
        var conditional = UNetConfig.Preset("tiny", 8, 1, numClasses: 2);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => UNetGraph.Emit(new OnnxGraph("g"), unconditional, "x", "e", "c")).Message, "unconditional");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => UNetGraph.Emit(new OnnxGraph("g"), conditional, "x", "e", null)).Message, "class-conditional");
    }

    /// <summary>A network of <paramref name="config"/> with every parameter moved by N(0, 0.05²) noise, in evaluation mode.</summary>
    private static UNet2D PerturbedNetwork(UNetConfig config, int seed)
    {
        torch.random.manual_seed(seed);
        var network = new UNet2D(config);
        using (torch.no_grad())
        using (torch.NewDisposeScope())
        {
            foreach (var p in network.parameters())
            {
                p.add_(torch.randn_like(p) * 0.05);
            }
        }

        network.eval();
        return network;
    }

    /// <summary>
    /// A model with inputs x [batch, C, S, S], emb [<paramref name="embeddingRows"/> or batch, BaseChannels] and, for a
    /// class-conditional network, classes [batch]; output y.
    /// </summary>
    private static InferenceSession Session(UNet2D network, long? embeddingRows)
    {
        var config = network.Config;
        var graph = new OnnxGraph("unet");
        graph.Input("x", DataType.Float, [null, config.InChannels, config.ImageSize, config.ImageSize]);
        graph.Input("emb", DataType.Float, [embeddingRows, config.BaseChannels]);
        if (network.IsClassConditional)
        {
            graph.Input("classes", DataType.Int64, [null]);
        }

        UNetGraph.AddWeights(graph, network);
        var output = UNetGraph.Emit(graph, config, "x", "emb", network.IsClassConditional ? "classes" : null);
        graph.NodeInto("Identity", [output], ["y"]);
        graph.Output("y", DataType.Float, [null, config.OutChannels, config.ImageSize, config.ImageSize]);
        return new InferenceSession(Model(graph).ToByteArray());
    }

    /// <summary>An IR version 8 model of <paramref name="graph"/> importing the default opset <see cref="OnnxGraph.Opset"/>.</summary>
    private static ModelProto Model(OnnxGraph graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = nameof(UNetGraphTests), Graph = graph.Proto };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OnnxGraph.Opset });
        return model;
    }

    private static void AssertMatchesTorch(UNet2D network, long[] timesteps, long[]? labels, long embeddingRows)
    {
        var stopwatch = Stopwatch.StartNew();
        using var session = Session(network, embeddingRows);
        Console.WriteLine($"built and loaded in {stopwatch.Elapsed.TotalSeconds:F2} s");
        AssertMatchesTorch(network, session, timesteps, labels, embeddingRows);
    }

    /// <summary>
    /// Runs <paramref name="session"/> and <see cref="UNet2D.Forward"/> on the same random images and checks
    /// max |onnx − torch| ≤ 1e-4 · max(1, max |torch|). With one embedding row, all <paramref name="timesteps"/> must be equal.
    /// </summary>
    private static void AssertMatchesTorch(UNet2D network, InferenceSession session, long[] timesteps, long[]? labels, long embeddingRows)
    {
        var config = network.Config;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var batch = timesteps.Length;
        torch.random.manual_seed(100 + batch);
        var x = torch.randn([batch, config.InChannels, config.ImageSize, config.ImageSize]);
        var steps = torch.tensor(timesteps);
        var labelTensor = labels is null ? null : torch.tensor(labels);
        var stopwatch = Stopwatch.StartNew();
        var expected = network.Forward(x, steps, labelTensor).data<float>().ToArray();
        var torchSeconds = stopwatch.Elapsed.TotalSeconds;

        var embeddingSteps = steps.slice(0, 0, embeddingRows, 1);
        var embedding = UNet2D.TimestepEmbedding(embeddingSteps, config.BaseChannels, torch.CPU);
        List<NamedOnnxValue> inputs =
        [
            NamedOnnxValue.CreateFromTensor("x", Dense(x)),
            NamedOnnxValue.CreateFromTensor("emb", Dense(embedding)),
        ];
        if (labels is not null)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("classes", new DenseTensor<long>(labels, [batch])));
        }

        stopwatch.Restart();
        using var results = session.Run(inputs);
        var onnxSeconds = stopwatch.Elapsed.TotalSeconds;
        var output = results.Single().AsTensor<float>();
        CollectionAssert.AreEqual(new[] { batch, config.OutChannels, config.ImageSize, config.ImageSize }, output.Dimensions.ToArray());
        var actual = output.ToArray();

        var largest = expected.Max(Math.Abs);
        var difference = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Console.WriteLine($"{config}, batch {batch}, steps [{string.Join(", ", timesteps)}], labels [{string.Join(", ", labels ?? [])}]: " +
            $"max |torch| {largest:G4}, max |onnx − torch| {difference:G3} (torch {torchSeconds:F2} s, onnx {onnxSeconds:F2} s)");
        Assert.IsGreaterThan(0.01f, largest, "the perturbed network's output should not be zero");
        Assert.IsGreaterThan(0.01f, actual.Max(Math.Abs));
        Assert.IsLessThanOrEqualTo(1e-4 * Math.Max(1, largest), difference);
    }

    private static DenseTensor<float> Dense(torch.Tensor tensor) =>
        new(tensor.contiguous().data<float>().ToArray(), [.. tensor.shape.Select(d => (int)d)]);
}
