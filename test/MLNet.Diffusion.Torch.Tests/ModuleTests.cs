using MLNet.Diffusion.Torch.Nn;

namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class ModuleTests
{
    private sealed class Block : Module<Tensor, Tensor>
    {
        public Block()
        {
            Norm = RegisterModule("norm", new GroupNorm(2, 4));
            Conv = RegisterModule("conv", new Conv2d(4, 4, 3, padding: 1));
            Scale = RegisterBuffer("scale", LibTorch.Full([1], 0.5));
        }

        public GroupNorm Norm { get; }

        public Conv2d Conv { get; }

        public Tensor Scale { get; }

        public override Tensor Forward(Tensor input) => Conv.Forward(Functional.Silu(Norm.Forward(input))) * Scale + input;
    }

    private sealed class Net : Module<Tensor, Tensor>
    {
        public Net()
        {
            Stem = RegisterModule("stem", new Conv2d(1, 4, 3, padding: 1));
            Blocks = RegisterModule("blocks", new ModuleList<Block>(new Block(), new Block()));
            Head = RegisterModule("head", new Sequential(new SiLU(), new Dropout(0.5), new Conv2d(4, 1, 1)));
        }

        public Conv2d Stem { get; }

        public ModuleList<Block> Blocks { get; }

        public Sequential Head { get; }

        public override Tensor Forward(Tensor input)
        {
            using var scope = LibTorch.NewDisposeScope();
            var h = Stem.Forward(input);
            foreach (var block in Blocks)
            {
                h = block.Forward(h);
            }

            return scope.MoveToOuter(Head.Forward(h));
        }
    }

    [TestMethod]
    public void StateDict_UsesDottedNamesInRegistrationOrder()
    {
        using var net = new Net();
        string[] expected =
        [
            "stem.weight", "stem.bias",
            "blocks.0.norm.weight", "blocks.0.norm.bias", "blocks.0.conv.weight", "blocks.0.conv.bias",
            "blocks.1.norm.weight", "blocks.1.norm.bias", "blocks.1.conv.weight", "blocks.1.conv.bias",
            "head.2.weight", "head.2.bias",
            "blocks.0.scale", "blocks.1.scale",
        ];
        CollectionAssert.AreEqual(expected, net.StateDict().Keys.ToArray());
        Assert.AreEqual(12, net.Parameters().Count);
        Assert.IsTrue(net.Parameters().All(p => p.RequiresGrad));
        Assert.IsFalse(net.Blocks[0].Scale.RequiresGrad);
    }

    [TestMethod]
    public void ParameterCount_MatchesLayerFormulas()
    {
        using var net = new Net();
        // stem 1*4*9+4, each block: norm 4+4, conv 4*4*9+4; head conv 4+1.
        Assert.AreEqual(40 + (2 * (8 + 148)) + 5, net.ParameterCount);
        using var linear = new Linear(10, 3);
        Assert.AreEqual(33, linear.ParameterCount);
        using var noBias = new Linear(10, 3, bias: false);
        Assert.AreEqual(30, noBias.ParameterCount);
        using var embedding = new Embedding(11, 4);
        Assert.AreEqual(44, embedding.ParameterCount);
        using var up = new ConvTranspose2d(6, 4, 4, stride: 2, padding: 1, groups: 2);
        CollectionAssert.AreEqual(new long[] { 6, 2, 4, 4 }, up.Weight.Shape);
        using var norm = new LayerNorm(7);
        Assert.AreEqual(14, norm.ParameterCount);
    }

    [TestMethod]
    public void DefaultInit_FollowsPyTorchBounds()
    {
        LibTorch.ManualSeed(5);
        using var conv = new Conv2d(8, 16, 3);
        var bound = 1 / Math.Sqrt(8 * 9);  // kaiming_uniform(a = √5) on fan_in = 72
        var w = TestUtil.Values(conv.Weight);
        Assert.IsTrue(w.All(v => Math.Abs(v) <= bound));
        Assert.IsTrue(w.Max() > 0.9 * bound && w.Min() < -0.9 * bound, "samples fill the interval");
        Assert.AreEqual(bound * bound / 3, w.Select(v => v * v).Average(), 0.15 * bound * bound / 3, "uniform variance");
        Assert.IsTrue(TestUtil.Values(conv.Bias!).All(v => Math.Abs(v) <= bound));
        using var up = new ConvTranspose2d(8, 4, 2);
        var upBound = 1 / Math.Sqrt(4 * 4);  // fan_in from dim 1 of [in, out, k, k], as PyTorch computes it
        Assert.IsTrue(TestUtil.Values(up.Weight).All(v => Math.Abs(v) <= upBound));
        Assert.IsTrue(TestUtil.Values(up.Weight).Max() > 0.5 * upBound);
        using var embedding = new Embedding(1000, 10);
        var e = TestUtil.Values(embedding.Weight);
        Assert.AreEqual(1, Math.Sqrt(e.Select(v => v * v).Average()), 0.05, "N(0, 1)");
        using var norm = new GroupNorm(2, 4);
        CollectionAssert.AreEqual(new double[] { 1, 1, 1, 1 }, TestUtil.Values(norm.Weight!));
        CollectionAssert.AreEqual(new double[] { 0, 0, 0, 0 }, TestUtil.Values(norm.Bias!));
    }

    [TestMethod]
    public void LoadStateDict_RoundTrip_ReproducesOutputs()
    {
        using var scope = LibTorch.NewDisposeScope();
        LibTorch.ManualSeed(1);
        using var a = new Net();
        LibTorch.ManualSeed(2);
        using var b = new Net();
        a.Eval();
        b.Eval();
        var x = LibTorch.Randn([2, 1, 6, 6]);
        Assert.IsFalse(a.Forward(x).AllClose(b.Forward(x)));
        b.LoadStateDict(a.StateDict());
        Assert.IsTrue(a.Forward(x).AllClose(b.Forward(x), 0, 0));
    }

    [TestMethod]
    public void LoadStateDict_Strict_NamesMissingUnexpectedAndMisShapedEntries()
    {
        using var scope = LibTorch.NewDisposeScope();
        using var net = new Net();
        var before = TestUtil.Values(net.Stem.Weight);
        var state = net.StateDict().Where(p => p.Key != "head.2.bias").ToDictionary(p => p.Key, p => p.Value);
        state["extra.weight"] = LibTorch.Zeros([1]);
        state["stem.weight"] = LibTorch.Zeros([4, 1, 5, 5]);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => net.LoadStateDict(state));
        StringAssert.Contains(ex.Message, "missing: head.2.bias");
        StringAssert.Contains(ex.Message, "unexpected: extra.weight");
        StringAssert.Contains(ex.Message, "stem.weight: expected [4, 1, 3, 3], got [4, 1, 5, 5]");
        CollectionAssert.AreEqual(before, TestUtil.Values(net.Stem.Weight), "nothing was copied");

        state["stem.weight"] = LibTorch.Zeros([4, 1, 3, 3]);
        net.LoadStateDict(state, strict: false);
        Assert.AreEqual(0, net.Stem.Weight.Abs().Sum().ToDouble());
    }

    [TestMethod]
    public void TrainEval_SwitchesDropoutEverywhere()
    {
        using var scope = LibTorch.NewDisposeScope();
        using var net = new Net();
        var x = LibTorch.Randn([2, 1, 6, 6]);
        net.Eval();
        Assert.IsFalse(net.Head[1].IsTraining);
        Assert.IsTrue(net.Forward(x).AllClose(net.Forward(x), 0, 0), "eval is deterministic");
        net.Train();
        Assert.IsTrue(net.Blocks[1].Norm.IsTraining);
        Assert.IsFalse(net.Forward(x).AllClose(net.Forward(x)), "dropout is active in training");
    }

    [TestMethod]
    public void To_Float64_ConvertsInPlaceAndKeepsTensorObjects()
    {
        using var scope = LibTorch.NewDisposeScope();
        using var net = new Net();
        var weight = net.Stem.Weight;
        var before = TestUtil.Values(weight);
        net.To(ScalarType.Float64);
        Assert.AreSame(weight, net.Stem.Weight);
        Assert.AreEqual(ScalarType.Float64, net.Stem.Weight.Dtype);
        Assert.IsTrue(net.Stem.Weight.RequiresGrad);
        TestUtil.AreClose(before, TestUtil.Values(net.Stem.Weight), 0);
        net.Eval();
        Assert.AreEqual(ScalarType.Float64, net.Forward(LibTorch.Zeros([1, 1, 4, 4], ScalarType.Float64)).Dtype);
        net.To(Device.Cpu);
        Assert.AreEqual(Device.Cpu, net.Stem.Weight.Device);
        Assert.ThrowsExactly<ArgumentException>(() => net.To(ScalarType.Int64));
    }

    [TestMethod]
    public void Registration_RejectsDuplicateAndDottedNames()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new Duplicate(dotted: false));
        Assert.ThrowsExactly<ArgumentException>(() => new Duplicate(dotted: true));
        Assert.ThrowsExactly<ArgumentException>(() => new GroupNorm(3, 4));
        Assert.ThrowsExactly<ArgumentException>(() => new Conv2d(3, 4, 3, groups: 2));
    }

    [TestMethod]
    public void Parameters_CreatedInsideAScope_SurviveIt()
    {
        Linear layer;
        using (LibTorch.NewDisposeScope())
        {
            layer = new Linear(2, 2);
        }

        using (layer)
        {
            Assert.IsFalse(layer.Weight.IsDisposed);
        }

        Assert.IsTrue(layer.Weight.IsDisposed, "disposing the module disposes its parameters");
    }

    private sealed class Duplicate : Module
    {
        public Duplicate(bool dotted)
        {
            RegisterParameter("w", LibTorch.Zeros([1]));
            RegisterBuffer(dotted ? "a.b" : "w", LibTorch.Zeros([1]));
        }
    }
}
