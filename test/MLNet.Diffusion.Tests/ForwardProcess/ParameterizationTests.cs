using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.ForwardProcess;

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
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var x0 = torch.randn([3, 4], ScalarType.Float64, generator: g);
        var eps = torch.randn([3, 4], ScalarType.Float64, generator: g);
        var a = torch.full([3, 1], Math.Sqrt(alphaBar), ScalarType.Float64);
        var b = torch.full([3, 1], Math.Sqrt(1 - alphaBar), ScalarType.Float64);
        var xt = (x0 * a) + (eps * b);
        var output = Parameterization.Target(type, x0, eps, a, b);
        Assert.IsTrue(Parameterization.ToSample(type, output, xt, alphaBar).allclose(x0, 1e-10, 1e-10));
        Assert.IsTrue(Parameterization.ToEpsilon(type, output, xt, alphaBar).allclose(eps, 1e-10, 1e-10));
    }

    [TestMethod]
    public void VTarget_IsSqrtAlphaBarEpsilonMinusSqrtOneMinusAlphaBarX0()
    {
        using var scope = torch.NewDisposeScope();
        var x0 = torch.full([1], 2, ScalarType.Float64);
        var eps = torch.full([1], 3, ScalarType.Float64);
        var v = Parameterization.Target(PredictionType.VPrediction, x0, eps, torch.full([1], 0.6, ScalarType.Float64), torch.full([1], 0.8, ScalarType.Float64));
        Assert.AreEqual((0.6 * 3) - (0.8 * 2), v.ToDouble(), 1e-15);
    }
}
