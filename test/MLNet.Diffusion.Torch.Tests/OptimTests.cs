using MLNet.Diffusion.Torch.Nn;
using MLNet.Diffusion.Torch.Optim;

namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class OptimTests
{
    private sealed class Parameters : Module
    {
        public Parameters(double[] a, double[] b)
        {
            A = RegisterParameter("a", TestUtil.F64(a));
            B = RegisterParameter("b", TestUtil.F64(b));
        }

        public Tensor A { get; }

        public Tensor B { get; }
    }

    /// <summary>AdamW of Loshchilov &amp; Hutter (PyTorch's formulation), in doubles, for one parameter vector.</summary>
    private static double[] ReferenceAdamW(double[] theta, Func<double[], double[]> gradient, int steps, double lr, double b1, double b2, double eps, double wd)
    {
        var p = (double[])theta.Clone();
        var m = new double[p.Length];
        var v = new double[p.Length];
        for (var t = 1; t <= steps; t++)
        {
            var g = gradient(p);
            for (var i = 0; i < p.Length; i++)
            {
                p[i] *= 1 - (lr * wd);
                m[i] = (b1 * m[i]) + ((1 - b1) * g[i]);
                v[i] = (b2 * v[i]) + ((1 - b2) * g[i] * g[i]);
                var mHat = m[i] / (1 - Math.Pow(b1, t));
                var denom = (Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t))) + eps;
                p[i] -= lr * mHat / denom;
            }
        }

        return p;
    }

    [TestMethod]
    public void AdamW_FiveSteps_MatchesReferenceFormula()
    {
        double[] start = [1, -2, 0.5];
        using var p = new Parameters(start, [0]);
        using var optimizer = new AdamW([p.A], learningRate: 0.1, beta1: 0.8, beta2: 0.9, epsilon: 1e-3, weightDecay: 0.05);
        for (var step = 0; step < 5; step++)
        {
            using var scope = LibTorch.NewDisposeScope();
            optimizer.ZeroGrad();
            (p.A.Pow(3).Sum() + p.A.Square().Sum()).Backward();  // gradient 3a² + 2a
            optimizer.Step();
        }

        var expected = ReferenceAdamW(start, a => a.Select(x => (3 * x * x) + (2 * x)).ToArray(), 5, 0.1, 0.8, 0.9, 1e-3, 0.05);
        TestUtil.AreClose(expected, TestUtil.Values(p.A), 1e-12);
        Assert.AreEqual(5, optimizer.StepCount);
    }

    [TestMethod]
    public void AdamW_ParameterWithoutGradient_IsNotUpdated()
    {
        using var p = new Parameters([1, 2], [3]);
        using var optimizer = new AdamW([p.A, p.B]);
        using (LibTorch.NewDisposeScope())
        {
            p.A.Sum().Backward();
        }

        optimizer.Step();
        TestUtil.AreClose([3], TestUtil.Values(p.B), 0);
        Assert.IsTrue(TestUtil.Values(p.A).Zip(new double[] { 1, 2 }).All(z => z.First < z.Second));
        using var state = new DisposableState(optimizer.StateDict());
        Assert.AreEqual(1L, state.Values["step.0"].ToInt64());
        Assert.AreEqual(0L, state.Values["step.1"].ToInt64());
    }

    [TestMethod]
    public void AdamW_StateDictRoundTrip_ContinuesIdentically()
    {
        using var p1 = new Parameters([0.3, -0.7], [1]);
        using var p2 = new Parameters([0.3, -0.7], [1]);
        using var o1 = new AdamW([p1.A], learningRate: 0.05);
        using var o2 = new AdamW([p2.A], learningRate: 0.05);
        void Step(Parameters p, AdamW o)
        {
            using var scope = LibTorch.NewDisposeScope();
            o.ZeroGrad();
            p.A.Sin().Sum().Backward();
            o.Step();
        }

        Step(p1, o1);
        Step(p1, o1);
        using (var state = new DisposableState(o1.StateDict()))
        {
            p2.LoadStateDict(p1.StateDict());
            o2.LoadStateDict(state.Values);
        }

        Step(p1, o1);
        Step(p2, o2);
        CollectionAssert.AreEqual(TestUtil.Values(p1.A), TestUtil.Values(p2.A));
        Assert.AreEqual(3, o2.StepCount);
    }

    [TestMethod]
    public void AdamW_InvalidSettings_AreRejected()
    {
        using var p = new Parameters([1], [1]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AdamW([p.A], learningRate: -1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AdamW([p.A], beta1: 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AdamW([p.A], weightDecay: double.NaN));
        Assert.ThrowsExactly<ArgumentException>(() => new AdamW([]));
        using var o = new AdamW([p.A]);
        o.LearningRate = 0.5;
        Assert.AreEqual(0.5, o.LearningRate);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => o.LearningRate = double.PositiveInfinity);
        using var wrong = new DisposableState(new Dictionary<string, Tensor> { ["step.0"] = LibTorch.Zeros([], ScalarType.Int64).DetachFromDisposeScope() });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => o.LoadStateDict(wrong.Values)).Message, "exp_avg.0");
    }

    [TestMethod]
    public void ClipGradNorm_ScalesToTheMaximumNorm()
    {
        using var p = new Parameters([0, 0], [0]);
        using var scope = LibTorch.NewDisposeScope();
        ((p.A * TestUtil.F64([3, 0])).Sum() + (p.B * 4).Sum()).Backward();  // gradients (3, 0) and (4): norm 5
        var norm = GradientClipping.ClipGradNorm([p.A, p.B], 1.0);
        Assert.AreEqual(5, norm.ToDouble(), 1e-12);
        TestUtil.AreClose([0.6, 0], TestUtil.Values(p.A.Grad!), 1e-6);
        TestUtil.AreClose([0.8], TestUtil.Values(p.B.Grad!), 1e-6);
        // Already within the bound: unchanged.
        Assert.AreEqual(1, GradientClipping.ClipGradNorm([p.A, p.B], 10).ToDouble(), 1e-6);
        TestUtil.AreClose([0.8], TestUtil.Values(p.B.Grad!), 1e-6);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => GradientClipping.ClipGradNorm([p.A], 0));
    }

    [TestMethod]
    public void ExponentialMovingAverage_LerpsTowardsTheModel()
    {
        using var p = new Parameters([0, 10], [4]);
        using var ema = new ExponentialMovingAverage(p, decay: 0.75);
        using (Autograd.NoGrad())
        {
            p.A.CopyFrom(TestUtil.F64([4, 2]));
        }

        ema.Update(p);
        TestUtil.AreClose([1, 8], TestUtil.Values(ema.StateDict()["a"]), 1e-12);  // 0.75·old + 0.25·new
        ema.Update(p);
        TestUtil.AreClose([1.75, 6.5], TestUtil.Values(ema.StateDict()["a"]), 1e-12);
        using var copy = new Parameters([0, 0], [0]);
        ema.CopyTo(copy);
        TestUtil.AreClose([1.75, 6.5], TestUtil.Values(copy.A), 1e-12);
        TestUtil.AreClose([4], TestUtil.Values(copy.B), 1e-12);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ema.Decay = 1.5);
    }

    private sealed class DisposableState(Dictionary<string, Tensor> values) : IDisposable
    {
        public Dictionary<string, Tensor> Values { get; } = values;

        public void Dispose()
        {
            foreach (var t in Values.Values)
            {
                t.Dispose();
            }
        }
    }
}
