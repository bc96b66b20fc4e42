using MLNet.Diffusion.Engine;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Tests.Engine;

/// <summary>
/// TorchSharp 0.107 behaves differently from PyTorch in a few places that matter to this project; each test pins
/// down how our code deals with one of them (found while moving from our own libtorch binding to TorchSharp).
/// </summary>
[TestClass]
public sealed class TorchSharpTrapTests
{
    [TestMethod]
    public void GroupNorm_FromLayers_StartsAtWeightOneBiasZero()
    {
        // nn.GroupNorm leaves its affine parameters uninitialised (values near 1e25 were seen); PyTorch sets 1 and 0.
        using var norm = Layers.GroupNorm(4, 16);
        CollectionAssert.AreEqual(Enumerable.Repeat(1f, 16).ToArray(), norm.weight.data<float>().ToArray());
        CollectionAssert.AreEqual(new float[16], norm.bias!.data<float>().ToArray());
    }

    [TestMethod]
    public void UNet2D_BuiltTwiceFromOneSeed_HasIdenticalStateDicts()
    {
        var config = UNetConfig.Preset("tiny", 16, 3, numClasses: 4);
        torch.random.manual_seed(7);
        using var a = new UNet2D(config);
        torch.random.manual_seed(7);
        using var b = new UNet2D(config);
        var (sa, sb) = (a.state_dict(), b.state_dict());
        CollectionAssert.AreEqual(sa.Keys.ToList(), sb.Keys.ToList());
        foreach (var (name, tensor) in sa)
        {
            Assert.IsTrue(Same(tensor, sb[name]), $"{name} differs between two models built from seed 7");
            Assert.IsTrue(tensor.isfinite().all().ToBoolean(), $"{name} has non-finite values");
        }
    }

    [TestMethod]
    public void UNet2D_StateDict_HasEveryLayerUnderItsPyTorchName()
    {
        // Auto-properties and arrays of modules are not registered by TorchSharp: a missed registration drops weights
        // from the state dict silently. The names are those of bench/reference/unet.py (loaded strictly by PyTorch).
        using var model = new UNet2D(UNetConfig.Preset("tiny", 16, 1, numClasses: 10));
        var keys = model.state_dict().Keys.ToList();
        var parameters = model.named_parameters().Select(p => p.name).ToList();
        CollectionAssert.AreEqual(parameters, keys, "every state-dict entry is a parameter (the UNet has no buffers)");
        foreach (var expected in new[]
        {
            "time_in.weight", "time_out.bias", "class_embedding.weight", "conv_in.weight", "down.0.norm1.weight",
            "down.0.conv1.weight", "down.0.time_proj.weight", "down.0.conv2.bias", "mid_block1.norm2.bias",
            "mid_attention.qkv.weight", "mid_attention.proj.bias", "mid_block2.conv1.weight", "up.0.shortcut.weight",
            "norm_out.weight", "conv_out.bias",
        })
        {
            CollectionAssert.Contains(keys, expected);
        }

        Assert.AreEqual(model.parameters().Sum(p => p.NumberOfElements), model.ParameterCount());
        Assert.IsFalse(keys.Any(k => k.Contains('_', StringComparison.Ordinal) && k.Split('.').Any(part => part.StartsWith('_'))),
            "no field names (leading underscore) leak into the state dict");
    }

    [TestMethod]
    public void AdamW_FromTheTrainer_AppliesTheWeightDecayItIsGiven()
    {
        // TorchSharp's AdamW defaults to weight decay 0 where PyTorch's default is 0.01: the trainer passes it explicitly.
        using var p = new TorchSharp.Modules.Parameter(torch.ones(3));
        using var optimizer = AdamWState.Create([p], learningRate: 0.1, weightDecay: 0.5);
        p.grad = torch.zeros(3);
        optimizer.step();
        // Decoupled decay (Loshchilov & Hutter 2019): p ← p·(1 − lr·λ); a zero gradient adds no Adam update.
        CollectionAssert.AreEqual(new[] { 0.95f, 0.95f, 0.95f }, p.data<float>().ToArray());
    }

    [TestMethod]
    public void AdamWState_SaveThenLoad_RestoresMomentsAndStepExactly()
    {
        torch.random.manual_seed(3);
        using var a = new TorchSharp.Modules.Parameter(torch.randn(4, 2));
        using var b = new TorchSharp.Modules.Parameter(a.detach().clone());
        using var first = AdamWState.Create([a], 1e-2, 0.01);
        using var second = AdamWState.Create([b], 1e-2, 0.01);
        for (var i = 0; i < 3; i++)
        {
            a.grad = torch.randn(4, 2);
            first.step();
        }

        var state = AdamWState.Save(first);
        using (torch.no_grad())
        {
            b.copy_(a);
        }

        AdamWState.Load(second, state);
        var gradient = torch.randn(4, 2);
        a.grad = gradient;
        b.grad = gradient.clone();
        first.step();
        second.step();
        Assert.IsTrue(Same(a, b), "a restored optimiser takes exactly the step the original takes");
        Assert.AreEqual(3L, state["step.0"].ToInt64());
    }

    [TestMethod]
    public void Safetensors_NonContiguousTensor_SavesItsValues()
    {
        // TorchSharp's Module.save refuses non-contiguous tensors; our writer copies them to row-major order.
        using var scope = torch.NewDisposeScope();
        var matrix = torch.arange(6, ScalarType.Float32).reshape(2, 3);
        var transposed = matrix.t();
        Assert.IsFalse(transposed.is_contiguous());
        using var content = Safetensors.Deserialize(Safetensors.Serialize([KeyValuePair.Create("t", transposed)]));
        CollectionAssert.AreEqual(new long[] { 3, 2 }, content.Tensors["t"].shape);
        CollectionAssert.AreEqual(new[] { 0f, 3, 1, 4, 2, 5 }, content.Tensors["t"].data<float>().ToArray());
    }

    [TestMethod]
    public void DisposeScope_IsPerThread_ResultsMadeOnAnotherThreadOutliveTheCallersScope()
    {
        // Dispose scopes are per thread: a tensor made on a worker thread is not owned by the caller's scope, and
        // the model's own scopes on the worker free only its intermediates.
        torch.random.manual_seed(5);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1));
        Tensor output;
        using (torch.NewDisposeScope())
        {
            output = Task.Run(() =>
            {
                using var noGrad = torch.no_grad();
                return model.Forward(torch.zeros(1, 1, 8, 8), torch.tensor(new long[] { 10 }));
            }).GetAwaiter().GetResult();
        }

        Assert.IsFalse(output.IsInvalid, "the worker's result is not disposed by the caller's scope");
        CollectionAssert.AreEqual(new long[] { 1, 1, 8, 8 }, output.shape);
        output.Dispose();
    }

    [TestMethod]
    public void ManualSeed_SeedsTheCpuGenerator_AndSampleNoiseIgnoresIt()
    {
        // torch.random.manual_seed seeds the CPU generator only (not CUDA's); our initial noise never depends on it:
        // it comes from per-image generators seeded from the image's own seed.
        torch.random.manual_seed(11);
        var first = torch.randn(4).data<float>().ToArray();
        torch.random.manual_seed(11);
        CollectionAssert.AreEqual(first, torch.randn(4).data<float>().ToArray());

        using var noiseA = MLNet.Diffusion.Sampling.SamplingNoise.PerSample(42, 2);
        using var a = noiseA.Next([2, 1, 4, 4]);
        torch.random.manual_seed(999);
        _ = torch.randn(100);
        using var noiseB = MLNet.Diffusion.Sampling.SamplingNoise.PerSample(42, 2);
        using var b = noiseB.Next([2, 1, 4, 4]);
        Assert.IsTrue(Same(a, b));
    }

    // TorchSharp's Tensor.equal is element-wise (eq); this is PyTorch's torch.equal: same shape, type and values.
    private static bool Same(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().ToBoolean();
}
