using MLNet.Diffusion.Models;
using MLNet.Diffusion.Torch;

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
        Console.WriteLine($"ddpm-cifar10: {model.ParameterCount:N0} parameters");
        Assert.AreEqual(35_746_307, model.ParameterCount);
    }

    [TestMethod]
    [DataRow("tiny", 16, 1)]
    [DataRow("small", 28, 1)]
    [DataRow("small", 32, 3)]
    public void Presets_BuildAndReportTheirSize(string preset, int size, int channels)
    {
        using var model = new UNet2D(UNetConfig.Preset(preset, size, channels));
        Console.WriteLine($"{preset} {size}px {channels}ch: {model.ParameterCount:N0} parameters");
        Assert.IsTrue(model.ParameterCount > 10_000);
    }

    [TestMethod]
    public void Forward_KeepsTheImageShape_AndStartsAtZero()
    {
        LibTorch.ManualSeed(1);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 16, 3));
        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.Randn([2, 3, 16, 16]);
        var output = model.Forward(x, LibTorch.FromArray(new long[] { 0, 999 }));
        CollectionAssert.AreEqual(new long[] { 2, 3, 16, 16 }, output.Shape);
        // The output convolution is zero-initialised (as in the paper), so a new model predicts exactly zero.
        Assert.AreEqual(0, output.Abs().Max().ToDouble());
    }

    [TestMethod]
    public void Forward_AfterTraining_DependsOnTimestepAndLabel()
    {
        LibTorch.ManualSeed(2);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1, numClasses: 3));
        using var scope = LibTorch.NewDisposeScope();
        using (Autograd.NoGrad())
        {
            foreach (var p in model.Parameters())
            {
                p.AddInPlace(LibTorch.RandnLike(p) * 0.05);  // move away from the zero init
            }
        }

        model.Eval();
        var x = LibTorch.Randn([1, 1, 8, 8]);
        var a = model.Forward(x, LibTorch.FromArray(new long[] { 10 }), LibTorch.FromArray(new long[] { 0 }));
        var b = model.Forward(x, LibTorch.FromArray(new long[] { 500 }), LibTorch.FromArray(new long[] { 0 }));
        var c = model.Forward(x, LibTorch.FromArray(new long[] { 10 }), LibTorch.FromArray(new long[] { 2 }));
        var nullLabel = model.Forward(x, LibTorch.FromArray(new long[] { 10 }));
        var explicitNull = model.Forward(x, LibTorch.FromArray(new long[] { 10 }), LibTorch.FromArray(new long[] { 3 }));
        Assert.IsFalse(a.AllClose(b, 1e-4, 1e-5), "the timestep matters");
        Assert.IsFalse(a.AllClose(c, 1e-4, 1e-5), "the label matters");
        Assert.IsTrue(nullLabel.AllClose(explicitNull, 0, 0), "no labels means the null label");
        Assert.AreEqual(3, model.NullLabel);
    }

    [TestMethod]
    public void Backward_ReachesEveryParameter()
    {
        LibTorch.ManualSeed(3);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 8, 1, numClasses: 2));
        using var scope = LibTorch.NewDisposeScope();
        var output = model.Forward(LibTorch.Randn([2, 1, 8, 8]), LibTorch.FromArray(new long[] { 3, 7 }), LibTorch.FromArray(new long[] { 0, 1 }));
        (output - LibTorch.RandnLike(output)).Square().Mean().Backward();
        var missing = model.NamedParameters().Where(p => p.Value.Grad is null).Select(p => p.Key).ToList();
        Assert.AreEqual(0, missing.Count, "no gradient: " + string.Join(", ", missing));
    }

    [TestMethod]
    public void TimestepEmbedding_IsSinesThenCosines()
    {
        using var scope = LibTorch.NewDisposeScope();
        var e = UNet2D.TimestepEmbedding(LibTorch.FromArray(new long[] { 0, 3 }), 4, Device.Cpu).ToArray<float>();
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
        using var scope = LibTorch.NewDisposeScope();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Forward(LibTorch.Zeros([1, 3, 8, 8]), LibTorch.Zeros([1], ScalarType.Int64))).Message, "[B, 1, 8, 8]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Forward(LibTorch.Zeros([2, 1, 8, 8]), LibTorch.Zeros([1], ScalarType.Int64))).Message, "one timestep per image");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Forward(LibTorch.Zeros([1, 1, 8, 8]), LibTorch.Zeros([1], ScalarType.Int64), LibTorch.Zeros([1], ScalarType.Int64))).Message, "unconditional");
    }
}
