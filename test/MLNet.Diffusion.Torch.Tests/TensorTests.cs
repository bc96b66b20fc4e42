namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class TensorTests
{
    [TestMethod]
    public void FromArray_RoundTrip_KeepsValuesShapeAndType()
    {
        using var t = LibTorch.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        CollectionAssert.AreEqual(new long[] { 2, 3 }, t.Shape);
        Assert.AreEqual(2, t.Dimensions);
        Assert.AreEqual(6, t.NumberOfElements);
        Assert.AreEqual(ScalarType.Float32, t.Dtype);
        Assert.AreEqual(Device.Cpu, t.Device);
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4, 5, 6 }, t.ToArray<float>());
    }

    [TestMethod]
    [DataRow(ScalarType.Float32)]
    [DataRow(ScalarType.Float16)]
    [DataRow(ScalarType.BFloat16)]
    [DataRow(ScalarType.Float64)]
    [DataRow(ScalarType.Int64)]
    [DataRow(ScalarType.UInt8)]
    [DataRow(ScalarType.Bool)]
    public void To_EachSupportedType_KeepsSmallIntegers(ScalarType type)
    {
        using var source = LibTorch.FromArray(new float[] { 0, 1, 0, 1 });
        using var converted = source.To(type);
        Assert.AreEqual(type, converted.Dtype);
        Assert.AreEqual(type.ElementSize() * 4, converted.ToBytes().Length);
        CollectionAssert.AreEqual(new double[] { 0, 1, 0, 1 }, TestUtil.Values(converted));
    }

    [TestMethod]
    public void FromBytes_BFloat16_ReadsRawBits()
    {
        // bfloat16 is the top half of a float32: 1.0f = 0x3F800000 -> 0x3F80, -2.0f = 0xC0000000 -> 0xC000.
        byte[] raw = [0x80, 0x3F, 0x00, 0xC0];
        using var t = LibTorch.FromBytes(raw, ScalarType.BFloat16, [2]);
        CollectionAssert.AreEqual(new double[] { 1, -2 }, TestUtil.Values(t));
        CollectionAssert.AreEqual(raw, t.ToBytes());
    }

    [TestMethod]
    public void Arithmetic_TensorAndScalar_MatchesHandComputedValues()
    {
        using var scope = LibTorch.NewDisposeScope();
        var a = TestUtil.F32([1, 2, 3, 4], 2, 2);
        var b = TestUtil.F32([10, 20, 30, 40], 2, 2);
        TestUtil.AreClose([11, 22, 33, 44], a + b);
        TestUtil.AreClose([-9, -18, -27, -36], a - b);
        TestUtil.AreClose([10, 40, 90, 160], a * b);
        TestUtil.AreClose([0.1f, 0.1f, 0.1f, 0.1f], a / b);
        TestUtil.AreClose([3, 4, 5, 6], a + 2);
        TestUtil.AreClose([9, 8, 7, 6], 10 - a);
        TestUtil.AreClose([-1, 0, 1, 2], a - 2);
        TestUtil.AreClose([2, 4, 6, 8], 2 * a);
        TestUtil.AreClose([0.5f, 1, 1.5f, 2], a / 2);
        TestUtil.AreClose([12, 6, 4, 3], 12 / a);
        TestUtil.AreClose([-1, -2, -3, -4], -a);
        TestUtil.AreClose([21, 42, 63, 84], a.Add(b, alpha: 2));
        TestUtil.AreClose([-19, -38, -57, -76], a.Sub(b, alpha: 2));
        TestUtil.AreClose([70, 100, 150, 220], a.MatMul(b));  // [[1,2],[3,4]]·[[10,20],[30,40]]
        TestUtil.AreClose([1, 8, 27, 64], a.Pow(3));
        TestUtil.AreClose([1, 4, 27, 256], a.Pow(a));
        TestUtil.AreClose([10, 20, 30, 40], a.Maximum(b));
        TestUtil.AreClose([1, 2, 3, 4], a.Minimum(b));
    }

    [TestMethod]
    public void Broadcasting_RowPlusColumn_GivesOuterSum()
    {
        using var scope = LibTorch.NewDisposeScope();
        var row = TestUtil.F32([1, 2, 3], 1, 3);
        var column = TestUtil.F32([10, 20], 2, 1);
        var sum = row + column;
        CollectionAssert.AreEqual(new long[] { 2, 3 }, sum.Shape);
        TestUtil.AreClose([11, 12, 13, 21, 22, 23], sum);
    }

    [TestMethod]
    public void UnaryMath_MatchesSystemMath()
    {
        using var scope = LibTorch.NewDisposeScope();
        double[] x = [0.25, 0.5, 1.5, 3];
        var t = TestUtil.F64(x);
        TestUtil.AreClose(x.Select(Math.Sin).ToArray(), TestUtil.Values(t.Sin()), 1e-12);
        TestUtil.AreClose(x.Select(Math.Cos).ToArray(), TestUtil.Values(t.Cos()), 1e-12);
        TestUtil.AreClose(x.Select(Math.Exp).ToArray(), TestUtil.Values(t.Exp()), 1e-12);
        TestUtil.AreClose(x.Select(v => Math.Log(v)).ToArray(), TestUtil.Values(t.Log()), 1e-12);
        TestUtil.AreClose(x.Select(Math.Sqrt).ToArray(), TestUtil.Values(t.Sqrt()), 1e-12);
        TestUtil.AreClose(x.Select(v => 1 / Math.Sqrt(v)).ToArray(), TestUtil.Values(t.Rsqrt()), 1e-12);
        TestUtil.AreClose(x.Select(Math.Tanh).ToArray(), TestUtil.Values(t.Tanh()), 1e-12);
        TestUtil.AreClose(x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray(), TestUtil.Values(t.Sigmoid()), 1e-12);
        TestUtil.AreClose(x.Select(v => v * v).ToArray(), TestUtil.Values(t.Square()), 1e-12);
        TestUtil.AreClose(x.Select(v => 1 / v).ToArray(), TestUtil.Values(t.Reciprocal()), 1e-12);
        // erf(0.25), erf(0.5), erf(1.5), erf(3) from Abramowitz & Stegun table 7.1.
        TestUtil.AreClose([0.276326390, 0.520499878, 0.966105146, 0.999977910], TestUtil.Values(t.Erf()), 1e-9);
        TestUtil.AreClose([0, 0, 1, 3], TestUtil.Values(t.Floor()), 0);
        TestUtil.AreClose([0, 0, 2, 3], TestUtil.Values(t.Round()), 0);  // half to even: 0.5 -> 0, 1.5 -> 2
        TestUtil.AreClose([0.5, 0.5, 1.5, 2], TestUtil.Values(t.Clamp(0.5, 2)), 0);
        TestUtil.AreClose([0.25, 0.5, 1, 1], TestUtil.Values(t.Clamp(max: 1)), 0);
        TestUtil.AreClose([0.25, 0.5, 1.5, 3], TestUtil.Values((-t).Abs()), 0);
        TestUtil.AreClose([-1, -1, -1, -1], TestUtil.Values((-t).Sign()), 0);
    }

    [TestMethod]
    public void WhereAndLerp_MatchHandComputedValues()
    {
        using var scope = LibTorch.NewDisposeScope();
        var a = TestUtil.F32([1, 2, 3, 4]);
        var b = TestUtil.F32([10, 20, 30, 40]);
        TestUtil.AreClose([1, 2, 30, 40], LibTorch.Where(a.Gt(2.5), b, a));
        TestUtil.AreClose([3.25f, 6.5f, 9.75f, 13], a.Lerp(b, 0.25));
        TestUtil.AreClose([1, 20, 3, 40], a.Lerp(b, TestUtil.F32([0, 1, 0, 1])));
    }

    [TestMethod]
    public void InPlaceOps_ModifyTheSameTensor()
    {
        using var scope = LibTorch.NewDisposeScope();
        var a = TestUtil.F32([1, 2, 3]);
        var b = TestUtil.F32([1, 1, 1]);
        Assert.AreSame(a, a.AddInPlace(b, alpha: 2));
        TestUtil.AreClose([3, 4, 5], a);
        a.MulInPlace(2);
        TestUtil.AreClose([6, 8, 10], a);
        a.LerpInPlace(b, 0.5);
        TestUtil.AreClose([3.5f, 4.5f, 5.5f], a);
        a.ClampInPlace(4, 5);
        TestUtil.AreClose([4, 4.5f, 5], a);
        a.CopyFrom(TestUtil.F32([7, 8, 9]));
        TestUtil.AreClose([7, 8, 9], a);
        a.FillInPlace(2);
        TestUtil.AreClose([2, 2, 2], a);
        a.ZeroInPlace();
        TestUtil.AreClose([0, 0, 0], a);
    }

    [TestMethod]
    public void Comparisons_GiveBoolTensors()
    {
        using var scope = LibTorch.NewDisposeScope();
        var a = TestUtil.F32([1, 2, 3]);
        var b = TestUtil.F32([3, 2, 1]);
        Assert.AreEqual(ScalarType.Bool, a.Eq(b).Dtype);
        CollectionAssert.AreEqual(new[] { false, true, false }, a.Eq(b).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, false, true }, a.Ne(b).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, false, false }, a.Lt(b).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, true, false }, a.Le(b).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { false, false, true }, a.Gt(b).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { false, true, true }, a.Ge(b).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { false, true, false }, a.Eq(2).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, false, true }, a.Ne(2).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, false, false }, a.Lt(2).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, true, false }, a.Le(2).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { false, false, true }, a.Gt(2).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { false, true, true }, a.Ge(2).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { false, true, false }, a.Gt(1).LogicalAnd(a.Lt(3)).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, false, true }, a.Lt(2).LogicalOr(a.Gt(2)).ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, false, true }, a.Eq(2).LogicalNot().ToArray<bool>());
        Assert.IsTrue(a.AllClose(a + 1e-7));
        Assert.IsFalse(a.AllClose(a + 1e-2));
        var special = TestUtil.F32([1, float.NaN, float.PositiveInfinity]);
        CollectionAssert.AreEqual(new[] { false, true, false }, special.IsNaN().ToArray<bool>());
        CollectionAssert.AreEqual(new[] { true, false, false }, special.IsFinite().ToArray<bool>());
    }

    [TestMethod]
    public void Reductions_MatchHandComputedValues()
    {
        using var scope = LibTorch.NewDisposeScope();
        var t = TestUtil.F64([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.AreEqual(21, t.Sum().ToDouble());
        Assert.AreEqual(3.5, t.Mean().ToDouble());
        Assert.AreEqual(6, t.Max().ToDouble());
        Assert.AreEqual(1, t.Min().ToDouble());
        TestUtil.AreClose([5, 7, 9], TestUtil.Values(t.Sum([0])), 0);
        TestUtil.AreClose([2, 5], TestUtil.Values(t.Mean([1])), 0);
        CollectionAssert.AreEqual(new long[] { 2, 1 }, t.Mean([1], keepDim: true).Shape);
        TestUtil.AreClose([3, 6], TestUtil.Values(t.AMax([1])), 0);
        TestUtil.AreClose([1, 2, 3], TestUtil.Values(t.AMin([0])), 0);
        CollectionAssert.AreEqual(new long[] { 2, 2 }, t.ArgMax(1).ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 0, 0, 0 }, t.ArgMin(0).ToArray<long>());
        // Unbiased variance of 1..6 is 3.5; biased is 35/12.
        Assert.AreEqual(3.5, t.Var().ToDouble(), 1e-12);
        Assert.AreEqual(35.0 / 12, t.Var(unbiased: false).ToDouble(), 1e-12);
        Assert.AreEqual(Math.Sqrt(3.5), t.Std().ToDouble(), 1e-12);
        TestUtil.AreClose([1, 1], TestUtil.Values(t.Var([1])), 1e-12);
        TestUtil.AreClose([1.5, 1.5, 1.5], TestUtil.Values(t.Std([0], unbiased: false)), 1e-12);
        // Quantiles with linear interpolation: the 0.5-quantile of [1, 2, 3] is 2, the 0.25-quantile is 1.5.
        TestUtil.AreClose([2, 5], TestUtil.Values(t.Quantile(0.5, 1)), 1e-12);
        TestUtil.AreClose([1.5, 4.5], TestUtil.Values(t.Quantile(0.25, 1)), 1e-12);
        CollectionAssert.AreEqual(new long[] { 2, 1 }, t.Quantile(0.9, 1, keepDim: true).Shape);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => t.Quantile(1.5, 0));
        Assert.IsTrue(t.Gt(5).Any().ToBoolean());
        Assert.IsFalse(t.Gt(5).All().ToBoolean());
    }

    [TestMethod]
    public void ShapeOps_ProduceExpectedLayouts()
    {
        using var scope = LibTorch.NewDisposeScope();
        var t = LibTorch.Arange(6).Reshape(2, 3);
        CollectionAssert.AreEqual(new long[] { 0, 3, 1, 4, 2, 5 }, t.Transpose(0, 1).Contiguous().ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 0, 3, 1, 4, 2, 5 }, t.Permute(1, 0).Contiguous().ToArray<long>());
        Assert.IsFalse(t.Transpose(0, 1).IsContiguous);
        CollectionAssert.AreEqual(new long[] { 3, 2 }, t.View(3, 2).Shape);
        CollectionAssert.AreEqual(new long[] { 6 }, t.Flatten().Shape);
        CollectionAssert.AreEqual(new long[] { 2, 1, 3 }, t.Unsqueeze(1).Shape);
        CollectionAssert.AreEqual(new long[] { 2, 3 }, t.Unsqueeze(1).Squeeze(1).Shape);
        CollectionAssert.AreEqual(new long[] { 2, 3 }, t.Unsqueeze(0).Unsqueeze(3).Squeeze().Shape);
        CollectionAssert.AreEqual(new long[] { 2, 4, 3 }, t.Unsqueeze(1).Expand(-1, 4, -1).Shape);
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 0, 1, 2 }, t[0].Repeat(2).ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 2, 1, 0, 5, 4, 3 }, t.Flip(1).ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 1, 4 }, t.Select(1, 1).ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 3, 4, 5 }, t[1].ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 0, 2, 3, 5 }, t.Slice(1, 0, 3, 2).Contiguous().ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 1, 2, 4, 5 }, t.Narrow(1, 1, 2).Contiguous().ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 2, 0, 5, 3 }, t.IndexSelect(1, LibTorch.FromArray(new long[] { 2, 0 })).ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 2, 3 }, t.Gather(1, LibTorch.FromArray(new long[] { 2, 0 }, [2, 1])).ToArray<long>());
    }

    [TestMethod]
    public void CatStackChunk_JoinAndSplit()
    {
        using var scope = LibTorch.NewDisposeScope();
        var a = TestUtil.F32([1, 2], 1, 2);
        var b = TestUtil.F32([3, 4], 1, 2);
        var cat = LibTorch.Cat([a, b], 0);
        CollectionAssert.AreEqual(new long[] { 2, 2 }, cat.Shape);
        TestUtil.AreClose([1, 2, 3, 4], cat);
        TestUtil.AreClose([1, 2, 3, 4], LibTorch.Cat([a, b], 1));
        CollectionAssert.AreEqual(new long[] { 1, 2, 2 }, LibTorch.Stack([a, b], 1).Shape);
        var parts = LibTorch.Arange(7).Chunk(3);
        Assert.AreEqual(3, parts.Length);
        CollectionAssert.AreEqual(new long[] { 0, 1, 2 }, parts[0].ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 6 }, parts[2].ToArray<long>());
    }

    [TestMethod]
    public void Views_ShareStorageWithTheirBase()
    {
        using var scope = LibTorch.NewDisposeScope();
        var t = LibTorch.Zeros([2, 3]);
        t.Select(0, 1).FillInPlace(5);
        TestUtil.AreClose([0, 0, 0, 5, 5, 5], t);
    }

    [TestMethod]
    public void Factories_MatchPyTorchDefinitions()
    {
        using var scope = LibTorch.NewDisposeScope();
        TestUtil.AreClose([0, 0, 0], LibTorch.Zeros([3]));
        TestUtil.AreClose([1, 1], LibTorch.Ones([2]));
        TestUtil.AreClose([2.5f, 2.5f], LibTorch.Full([2], 2.5));
        CollectionAssert.AreEqual(new long[] { 2, 5, 8 }, LibTorch.Arange(2, 10, 3).ToArray<long>());
        Assert.AreEqual(ScalarType.Int64, LibTorch.Arange(3).Dtype);
        TestUtil.AreClose([0, 0.5f, 1, 1.5f], LibTorch.Arange(0.0, 2.0, 0.5));
        TestUtil.AreClose([0, 0.25f, 0.5f, 0.75f, 1], LibTorch.Linspace(0, 1, 5));
        Assert.AreEqual(0, LibTorch.Scalar(3).Dimensions);
        Assert.AreEqual(3.0, LibTorch.Scalar(3).ToDouble());
        var like = LibTorch.Ones([2, 2], ScalarType.Float64);
        var zeros = LibTorch.ZerosLike(like);
        Assert.AreEqual(ScalarType.Float64, zeros.Dtype);
        CollectionAssert.AreEqual(new long[] { 2, 2 }, zeros.Shape);
        TestUtil.AreClose([7, 7, 7, 7], LibTorch.FullLike(like, 7));
        TestUtil.AreClose([1, 1, 1, 1], LibTorch.OnesLike(like));
        CollectionAssert.AreEqual(new long[] { 2, 2 }, LibTorch.RandnLike(like).Shape);
        Assert.IsTrue(LibTorch.Zeros([2], requiresGrad: true).RequiresGrad);
    }

    [TestMethod]
    public void RandomFactories_WithGenerator_AreReproducibleAndInRange()
    {
        using var scope = LibTorch.NewDisposeScope();
        using var g1 = new Generator(42);
        using var g2 = new Generator(42);
        CollectionAssert.AreEqual(LibTorch.Randn([100], g1).ToArray<float>(), LibTorch.Randn([100], g2).ToArray<float>());
        var u = TestUtil.Values(LibTorch.Rand([1000], g1));
        Assert.IsTrue(u.All(v => v is >= 0 and < 1));
        Assert.AreEqual(0.5, u.Average(), 0.05);
        var ints = LibTorch.RandInt(3, 7, [1000], g1).ToArray<long>();
        Assert.IsTrue(ints.All(v => v is >= 3 and < 7));
        CollectionAssert.AreEquivalent(new long[] { 3, 4, 5, 6 }, ints.Distinct().ToArray());
        var perm = LibTorch.RandPerm(10, g1).ToArray<long>();
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).Select(i => (long)i).ToArray(), perm);
        var n = TestUtil.Values(LibTorch.Randn([20000], g1));
        Assert.AreEqual(0, n.Average(), 0.03);
        Assert.AreEqual(1, Math.Sqrt(n.Select(v => v * v).Average()), 0.03);
    }

    [TestMethod]
    public void Generator_StateRoundTrip_ReplaysTheSameStream()
    {
        using var scope = LibTorch.NewDisposeScope();
        using var g = new Generator(7);
        Assert.AreEqual(7UL, g.Seed);
        _ = LibTorch.Randn([10], g);
        var state = g.GetState();
        var first = LibTorch.Randn([10], g).ToArray<float>();
        g.SetState(state);
        CollectionAssert.AreEqual(first, LibTorch.Randn([10], g).ToArray<float>());
        g.Seed = 7;
        using var fresh = new Generator(7);
        CollectionAssert.AreEqual(LibTorch.Randn([5], fresh).ToArray<float>(), LibTorch.Randn([5], g).ToArray<float>());
    }

    [TestMethod]
    public void ManualSeed_MakesTheDefaultGeneratorReproducible()
    {
        using var scope = LibTorch.NewDisposeScope();
        LibTorch.ManualSeed(123);
        var a = LibTorch.Rand([8]).ToArray<float>();
        LibTorch.ManualSeed(123);
        CollectionAssert.AreEqual(a, LibTorch.Rand([8]).ToArray<float>());
        using var global = Generator.Default();
        Assert.AreEqual(123UL, global.Seed);
    }

    [TestMethod]
    public void ToString_ShowsShapeTypeDeviceAndLeadingValues()
    {
        using var t = LibTorch.Arange(0.0, 8.0, 1.0);
        Assert.AreEqual("Tensor[8] float32 cpu [0, 1, 2, 3, 4, 5, ...]", t.ToString());
        using var small = TestUtil.F32([1.5f, 2], 1, 2);
        Assert.AreEqual("Tensor[1, 2] float32 cpu [1.5, 2]", small.ToString());
    }

    [TestMethod]
    public void Item_ConvertsOneElementTensors()
    {
        using var t = LibTorch.Full([1, 1], 3);
        Assert.AreEqual(3.0, t.ToDouble());
        Assert.AreEqual(3f, t.ToSingle());
        Assert.AreEqual(3L, t.ToInt64());
        Assert.IsTrue(t.ToBoolean());
    }

    [TestMethod]
    public void NumThreads_DefaultsToProcessorCountAndCanBeSet()
    {
        var original = LibTorch.NumThreads;
        Assert.IsTrue(original >= 1);
        try
        {
            LibTorch.NumThreads = 1;
            Assert.AreEqual(1, LibTorch.NumThreads);
        }
        finally
        {
            LibTorch.NumThreads = original;
        }
    }

    [TestMethod]
    public void LibTorchVersion_IsDotted()
    {
        StringAssert.Matches(LibTorch.Version, new System.Text.RegularExpressions.Regex(@"^\d+\.\d+\.\d+$"));
    }
}
