namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class FunctionalTests
{
    [TestMethod]
    public void Conv2d_SumKernel_SumsEachWindow()
    {
        using var scope = LibTorch.NewDisposeScope();
        // 3x3 input 1..9, 2x2 kernel of ones, bias 0.5: window sums 12, 16, 24, 28.
        var x = LibTorch.Arange(1.0, 10.0, 1.0).Reshape(1, 1, 3, 3);
        var w = LibTorch.Ones([1, 1, 2, 2]);
        var b = LibTorch.Full([1], 0.5);
        TestUtil.AreClose([12.5f, 16.5f, 24.5f, 28.5f], Functional.Conv2d(x, w, b));
        // Padding 1, stride 2 on the same input: corner windows only.
        TestUtil.AreClose([1, 5, 11, 28], Functional.Conv2d(x, w, stride: 2, padding: 1).Flatten());
    }

    [TestMethod]
    public void Conv2d_Groups_KeepChannelsSeparate()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.Cat([LibTorch.Ones([1, 1, 2, 2]), LibTorch.Full([1, 1, 2, 2], 2)], 1);
        var w = LibTorch.Ones([2, 1, 2, 2]);
        TestUtil.AreClose([4, 8], Functional.Conv2d(x, w, groups: 2).Flatten());
    }

    [TestMethod]
    public void ConvTranspose2d_Stride2_ScattersTheKernel()
    {
        using var scope = LibTorch.NewDisposeScope();
        // One input pixel of value 3 spreads a 2x2 kernel [[1,2],[3,4]] times 3.
        var x = LibTorch.Full([1, 1, 1, 1], 3);
        var w = TestUtil.F32([1, 2, 3, 4], 1, 1, 2, 2);
        TestUtil.AreClose([3, 6, 9, 12], Functional.ConvTranspose2d(x, w, stride: 2));
        var up = Functional.ConvTranspose2d(LibTorch.Ones([1, 1, 2, 2]), LibTorch.Ones([1, 1, 2, 2]), stride: 2);
        CollectionAssert.AreEqual(new long[] { 1, 1, 4, 4 }, up.Shape);
        Assert.AreEqual(16, up.Sum().ToDouble());
    }

    [TestMethod]
    public void Linear_ComputesAffineMap()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = TestUtil.F32([1, 2], 1, 2);
        var w = TestUtil.F32([1, 0, 1, 1, 2, -1], 3, 2);
        var b = TestUtil.F32([0, 1, 2]);
        TestUtil.AreClose([1, 4, 2], Functional.Linear(x, w, b));
    }

    [TestMethod]
    public void GroupNorm_NormalisesEachGroup()
    {
        using var scope = LibTorch.NewDisposeScope();
        // Two groups of one channel each: [1, 3] and [10, 30] both normalise to [-1, 1] (population variance).
        var x = TestUtil.F64([1, 3, 10, 30], 1, 2, 1, 2);
        TestUtil.AreClose([-1, 1, -1, 1], TestUtil.Values(Functional.GroupNorm(x, 2, eps: 0)), 1e-12);
        var weight = TestUtil.F64([2, 1]);
        var bias = TestUtil.F64([0, 5]);
        TestUtil.AreClose([-2, 2, 4, 6], TestUtil.Values(Functional.GroupNorm(x, 2, weight, bias, eps: 0)), 1e-12);
        // One group over both channels: mean 11, population std sqrt(((10)^2+(8)^2+(1)^2+(19)^2)/4).
        var std = Math.Sqrt((100 + 64 + 1 + 361) / 4.0);
        TestUtil.AreClose([-10 / std, -8 / std, -1 / std, 19 / std], TestUtil.Values(Functional.GroupNorm(x, 1, eps: 0)), 1e-12);
    }

    [TestMethod]
    public void LayerNorm_NormalisesTheLastDimension()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = TestUtil.F64([1, 2, 3, 10, 20, 30], 2, 3);
        var s = Math.Sqrt(2.0 / 3);
        TestUtil.AreClose([-1 / s, 0, 1 / s, -1 / s, 0, 1 / s], TestUtil.Values(Functional.LayerNorm(x, [3], eps: 0)), 1e-12);
    }

    [TestMethod]
    public void Activations_MatchTheirDefinitions()
    {
        using var scope = LibTorch.NewDisposeScope();
        double[] v = [-2, -0.5, 0, 1.5];
        var x = TestUtil.F64(v);
        TestUtil.AreClose(v.Select(a => a / (1 + Math.Exp(-a))).ToArray(), TestUtil.Values(Functional.Silu(x)), 1e-12);
        TestUtil.AreClose(v.Select(a => Math.Max(a, 0)).ToArray(), TestUtil.Values(Functional.Relu(x)), 0);
        // Exact GELU: x·Φ(x), with Φ(−2) = 0.022750131948179, Φ(−0.5) = 0.308537538725987, Φ(1.5) = 0.933192798731142.
        double[] gelu = [-2 * 0.022750131948179, -0.5 * 0.308537538725987, 0, 1.5 * 0.933192798731142];
        TestUtil.AreClose(gelu, TestUtil.Values(Functional.Gelu(x)), 1e-9);
        var tanhGelu = v.Select(a => 0.5 * a * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (a + (0.044715 * a * a * a))))).ToArray();
        TestUtil.AreClose(tanhGelu, TestUtil.Values(Functional.Gelu(x, tanhApproximation: true)), 1e-12);
    }

    [TestMethod]
    public void SoftmaxAndLogSoftmax_MatchTheirDefinitions()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = TestUtil.F64([1, 2, 3]);
        var z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        double[] expected = [Math.Exp(1) / z, Math.Exp(2) / z, Math.Exp(3) / z];
        TestUtil.AreClose(expected, TestUtil.Values(Functional.Softmax(x, 0)), 1e-12);
        TestUtil.AreClose(expected.Select(v => Math.Log(v)).ToArray(), TestUtil.Values(Functional.LogSoftmax(x, -1)), 1e-12);
    }

    [TestMethod]
    public void Dropout_ScalesKeptElementsAndIsIdentityWhenNotTraining()
    {
        using var scope = LibTorch.NewDisposeScope();
        LibTorch.ManualSeed(1);
        var x = LibTorch.Ones([10000]);
        var y = TestUtil.Values(Functional.Dropout(x, 0.25));
        Assert.IsTrue(y.All(v => v == 0 || Math.Abs(v - (1 / 0.75)) < 1e-6), "kept elements are scaled by 1/(1-p)");
        Assert.AreEqual(0.25, y.Count(v => v == 0) / 10000.0, 0.02);
        TestUtil.AreClose(TestUtil.Values(x), TestUtil.Values(Functional.Dropout(x, 0.25, training: false)), 0);
    }

    [TestMethod]
    public void ScaledDotProductAttention_MatchesExplicitFormula()
    {
        using var scope = LibTorch.NewDisposeScope();
        using var g = new Generator(3);
        var q = LibTorch.Randn([2, 4, 5, 8], g, ScalarType.Float64);
        var k = LibTorch.Randn([2, 4, 6, 8], g, ScalarType.Float64);
        var v = LibTorch.Randn([2, 4, 6, 3], g, ScalarType.Float64);
        var expected = Functional.Softmax(q.MatMul(k.Transpose(-2, -1)) / Math.Sqrt(8), -1).MatMul(v);
        var actual = Functional.ScaledDotProductAttention(q, k, v);
        CollectionAssert.AreEqual(new long[] { 2, 4, 5, 3 }, actual.Shape);
        Assert.IsTrue(actual.AllClose(expected, 1e-10, 1e-12));
    }

    [TestMethod]
    public void ScaledDotProductAttention_BoolMaskAndCausal_HideKeys()
    {
        using var scope = LibTorch.NewDisposeScope();
        var q = LibTorch.Zeros([1, 2, 4], ScalarType.Float64);  // equal scores: uniform weights over visible keys
        var k = LibTorch.Zeros([1, 3, 4], ScalarType.Float64);
        var v = TestUtil.F64([1, 2, 3], 1, 3, 1);
        var mask = LibTorch.FromArray(new[] { true, true, false, true, false, false }, [2, 3]);
        TestUtil.AreClose([1.5, 1], TestUtil.Values(Functional.ScaledDotProductAttention(q, k, v, mask)), 1e-12);
        TestUtil.AreClose([1, 1.5], TestUtil.Values(Functional.ScaledDotProductAttention(q, k, v, isCausal: true)), 1e-12);
    }

    [TestMethod]
    public void Interpolate_NearestAndBilinear()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = TestUtil.F32([1, 2, 3, 4], 1, 1, 2, 2);
        TestUtil.AreClose([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], Functional.Interpolate(x, 4, 4));
        // align_corners = true on 2 -> 3 puts the new sample half-way: [[1,1.5,2],[2,2.5,3],[3,3.5,4]].
        TestUtil.AreClose([1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4], Functional.Interpolate(x, 3, 3, InterpolationMode.Bilinear, alignCorners: true));
        // align_corners = false, 2 -> 4: output x = (i + 0.5)/2 - 0.5 -> -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped).
        TestUtil.AreClose([1, 1.25f, 1.75f, 2], Functional.Interpolate(x, 4, 4, InterpolationMode.Bilinear).Select(2, 0).Flatten());
    }

    [TestMethod]
    public void Pooling_AveragesAndMaxima()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.Arange(1.0, 17.0, 1.0).Reshape(1, 1, 4, 4);
        TestUtil.AreClose([3.5f, 5.5f, 11.5f, 13.5f], Functional.AvgPool2d(x, 2));
        TestUtil.AreClose([6, 8, 14, 16], Functional.MaxPool2d(x, 2));
    }

    [TestMethod]
    public void Losses_MatchHandComputedValues()
    {
        using var scope = LibTorch.NewDisposeScope();
        var a = TestUtil.F64([1, 2, 3]);
        var b = TestUtil.F64([1, 0, 0]);
        Assert.AreEqual(13.0 / 3, Functional.MseLoss(a, b).ToDouble(), 1e-12);
        Assert.AreEqual(13.0, Functional.MseLoss(a, b, Reduction.Sum).ToDouble(), 1e-12);
        TestUtil.AreClose([0, 4, 9], TestUtil.Values(Functional.MseLoss(a, b, Reduction.None)), 0);
        var logits = TestUtil.F64([0, 0, Math.Log(2), 0], 2, 2);
        var target = LibTorch.FromArray(new long[] { 0, 0 });
        // Row 1: -log(1/2); row 2: -log(2/3).
        Assert.AreEqual((Math.Log(2) + Math.Log(1.5)) / 2, Functional.CrossEntropy(logits, target).ToDouble(), 1e-12);
    }

    [TestMethod]
    public void Embedding_PicksRows()
    {
        using var scope = LibTorch.NewDisposeScope();
        var weight = TestUtil.F32([0, 0, 1, 1, 2, 2], 3, 2);
        TestUtil.AreClose([2, 2, 0, 0, 2, 2], Functional.Embedding(weight, LibTorch.FromArray(new long[] { 2, 0, 2 })));
    }
}
