using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Tests.Models;

[TestClass]
public sealed class UNet2DTests
{
    [TestMethod]
    public void DdpmCifar10_HasThePapersParameterCount()
    {
        // Ho et al. 2020 report 35.7M parameters for their CIFAR-10 model; diffusers' port of it
        // (google/ddpm-cifar10-32) has 35,746,307, the count the same layers give here.
        using var model = new UNet2D(UNetConfig.Preset("ddpm-cifar10"));
        Console.WriteLine($"ddpm-cifar10: {model.ParameterCount():N0} parameters");
        Assert.AreEqual(35_746_307, model.ParameterCount());
    }

    [TestMethod]
    [DataRow("tiny", 16, 1)]
    [DataRow("small", 28, 1)]
    [DataRow("small", 32, 3)]
    public void Presets_BuildAndReportTheirSize(string preset, int size, int channels)
    {
        using var model = new UNet2D(UNetConfig.Preset(preset, size, channels));
        Console.WriteLine($"{preset} {size}px {channels}ch: {model.ParameterCount():N0} parameters");
        Assert.IsTrue(model.ParameterCount() > 10_000);
    }

    [TestMethod]
    public void Forward_KeepsTheImageShape_AndStartsAtZero()
    {
        torch.random.manual_seed(1);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 16, 3));
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 3, 16, 16]);
        var output = model.Forward(x, torch.tensor(new long[] { 0, 999 }));
        CollectionAssert.AreEqual(new long[] { 2, 3, 16, 16 }, output.shape);
        // The output convolution is zero-initialised (as in the paper), so a new model predicts exactly zero.
        Assert.AreEqual(0, output.abs().max().ToDouble());
    }

    [TestMethod]
    [DataRow(3)]
    [DataRow(null)]
    public void ForwardAt_IsForwardWithinRounding(int? classes)
    {
        torch.random.manual_seed(3);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1, numClasses: classes));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var p in model.parameters())
        {
            p.add_(torch.randn_like(p) * 0.1);  // away from the zero init, so every layer counts
        }

        model.eval();
        var x = torch.randn([5, 1, 8, 8]);
        var labels = classes is null ? null : torch.tensor(new long[] { 0, 1, 2, 3, 1 });
        var batched = model.Forward(x, torch.full([5], 40L, ScalarType.Int64), labels);
        var atOneTimestep = model.ForwardAt(x, 40, labels);
        Assert.IsTrue(batched.abs().max().ToDouble() > 0.1, "the output is not trivial");
        Assert.IsTrue(atOneTimestep.allclose(batched, rtol: 1e-5, atol: 1e-5), $"largest difference {(atOneTimestep - batched).abs().max().ToDouble()}");
    }

    [TestMethod]
    public void ForwardAt_BadInput_IsRejected()
    {
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1, numClasses: 3));
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 1, 8, 8]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.ForwardAt(x, -1));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.ForwardAt(torch.randn([2, 3, 8, 8]), 5)).Message, "[B, 1, 8, 8]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.ForwardAt(x, 5, torch.tensor(new long[] { 1 }))).Message, "one int64 label per image");
    }

    [TestMethod]
    public void Forward_AfterTraining_DependsOnTimestepAndLabel()
    {
        torch.random.manual_seed(2);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1, numClasses: 3));
        using var scope = torch.NewDisposeScope();
        using (torch.no_grad())
        {
            foreach (var p in model.parameters())
            {
                p.add_(torch.randn_like(p) * 0.05);  // move away from the zero init
            }
        }

        model.eval();
        var x = torch.randn([1, 1, 8, 8]);
        var a = model.Forward(x, torch.tensor(new long[] { 10 }), torch.tensor(new long[] { 0 }));
        var b = model.Forward(x, torch.tensor(new long[] { 500 }), torch.tensor(new long[] { 0 }));
        var c = model.Forward(x, torch.tensor(new long[] { 10 }), torch.tensor(new long[] { 2 }));
        var nullLabel = model.Forward(x, torch.tensor(new long[] { 10 }));
        var explicitNull = model.Forward(x, torch.tensor(new long[] { 10 }), torch.tensor(new long[] { 3 }));
        Assert.IsFalse(a.allclose(b, 1e-4, 1e-5), "the timestep matters");
        Assert.IsFalse(a.allclose(c, 1e-4, 1e-5), "the label matters");
        Assert.IsTrue(nullLabel.allclose(explicitNull, 0, 0), "no labels means the null label");
        Assert.AreEqual(3, model.NullLabel);
    }

    [TestMethod]
    public void Backward_ReachesEveryParameter()
    {
        torch.random.manual_seed(3);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1, numClasses: 2));
        using var scope = torch.NewDisposeScope();
        var output = model.Forward(torch.randn([2, 1, 8, 8]), torch.tensor(new long[] { 3, 7 }), torch.tensor(new long[] { 0, 1 }));
        (output - torch.randn_like(output)).square().mean().backward();
        var missing = model.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).ToList();
        Assert.AreEqual(0, missing.Count, "no gradient: " + string.Join(", ", missing));
    }

    [TestMethod]
    public void TimestepEmbedding_IsSinesThenCosines()
    {
        using var scope = torch.NewDisposeScope();
        var e = UNet2D.TimestepEmbedding(torch.tensor(new long[] { 0, 3 }), 4, torch.CPU).data<float>().ToArray();
        // d = 4: frequencies 1 and 10000^(−1) = 1e-4.
        float[] expected = [0, 0, 1, 1, (float)Math.Sin(3), (float)Math.Sin(3e-4), (float)Math.Cos(3), (float)Math.Cos(3e-4)];
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], e[i], 1e-6);
        }
    }

    [TestMethod]
    public void BadConfigAndInputs_AreRejectedClearly()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => UNetConfig.Preset("huge")).Message, "tiny, small, ddpm-cifar10");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => UNetConfig.Preset("ddpm-cifar10", imageSize: 28)).Message, "cannot be halved 3 times");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new UNetConfig { GroupNormGroups = 7 }.Validated()).Message, "cannot be split into 7 groups");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new UNetConfig { AttentionResolutions = [5] }.Validated()).Message, "5 is not one of the model's resolutions");
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1));
        using var scope = torch.NewDisposeScope();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Forward(torch.zeros([1, 3, 8, 8]), torch.zeros([1], ScalarType.Int64))).Message, "[B, 1, 8, 8]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Forward(torch.zeros([2, 1, 8, 8]), torch.zeros([1], ScalarType.Int64))).Message, "one timestep per image");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Forward(torch.zeros([1, 1, 8, 8]), torch.zeros([1], ScalarType.Int64), torch.zeros([1], ScalarType.Int64))).Message, "unconditional");
    }
}
