using MLNet.Diffusion.Schedulers;
using MLNet.Diffusion.Torch;

namespace MLNet.Diffusion.Tests.Schedulers;

[TestClass]
public sealed class ParameterizationTests
{
    [TestMethod]
    [DataRow(PredictionType.Epsilon, 0.9)]
    [DataRow(PredictionType.Sample, 0.5)]
    [DataRow(PredictionType.VPrediction, 0.01)]
    [DataRow(PredictionType.VPrediction, 0.999)]
    public void Conversions_RecoverX0AndEpsilonExactly(PredictionType type, double alphaBar)
    {
        using var scope = LibTorch.NewDisposeScope();
        using var g = new Generator(5);
        var x0 = LibTorch.Randn([3, 4], g, ScalarType.Float64);
        var eps = LibTorch.Randn([3, 4], g, ScalarType.Float64);
        var a = LibTorch.Full([3, 1], Math.Sqrt(alphaBar), ScalarType.Float64);
        var b = LibTorch.Full([3, 1], Math.Sqrt(1 - alphaBar), ScalarType.Float64);
        var xt = (x0 * a) + (eps * b);
        var output = Parameterization.Target(type, x0, eps, a, b);
        Assert.IsTrue(Parameterization.ToSample(type, output, xt, alphaBar).AllClose(x0, 1e-10, 1e-10));
        Assert.IsTrue(Parameterization.ToEpsilon(type, output, xt, alphaBar).AllClose(eps, 1e-10, 1e-10));
    }

    [TestMethod]
    public void VTarget_IsSqrtAlphaBarEpsilonMinusSqrtOneMinusAlphaBarX0()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x0 = LibTorch.Full([1], 2, ScalarType.Float64);
        var eps = LibTorch.Full([1], 3, ScalarType.Float64);
        var v = Parameterization.Target(PredictionType.VPrediction, x0, eps, LibTorch.Full([1], 0.6, ScalarType.Float64), LibTorch.Full([1], 0.8, ScalarType.Float64));
        Assert.AreEqual((0.6 * 3) - (0.8 * 2), v.ToDouble(), 1e-15);
    }
}
