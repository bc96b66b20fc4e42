using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.ForwardProcess;

[TestClass]
public sealed class DiffusionObjectiveTests
{
    [TestMethod]
    public void Prepare_NoisesX0AndReturnsTheTargetOfThePredictionType()
    {
        var schedule = NoiseSchedule.Create();
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        var x0 = torch.randn([4, 2, 3, 3], ScalarType.Float64, generator: g);
        var eps = torch.randn([4, 2, 3, 3], ScalarType.Float64, generator: g);
        var t = torch.tensor(new long[] { 0, 10, 500, 999 });
        foreach (var type in new[] { PredictionType.Epsilon, PredictionType.Sample, PredictionType.VPrediction })
        {
            var (noisy, target) = new DiffusionObjective(schedule, type).Prepare(x0, eps, t);
            Assert.IsTrue(noisy.allclose(schedule.AddNoise(x0, eps, t), 0, 1e-12));
            var expected = type switch
            {
                PredictionType.Epsilon => eps,
                PredictionType.Sample => x0,
                _ => (eps * schedule.PerSample(schedule.AlphasCumulative.Select(Math.Sqrt).ToArray(), t, x0))
                    - (x0 * schedule.PerSample(schedule.AlphasCumulative.Select(a => Math.Sqrt(1 - a)).ToArray(), t, x0)),
            };
            Assert.IsTrue(target.allclose(expected, 0, 1e-12), type.ToString());
        }
    }

    [TestMethod]
    public void MinSnrWeights_FollowHangEtAl()
    {
        var schedule = NoiseSchedule.Create();
        var (high, low) = (schedule.SignalToNoise(0), schedule.SignalToNoise(999));  // ≈ 9999 and ≈ 4e-5
        var eps = new DiffusionObjective(schedule, PredictionType.Epsilon, LossWeighting.MinSnr).Weights();
        Assert.AreEqual(5 / high, eps[0], 1e-15);
        Assert.AreEqual(1, eps[999], 1e-15);
        var x0 = new DiffusionObjective(schedule, PredictionType.Sample, LossWeighting.MinSnr, minSnrGamma: 3).Weights();
        Assert.AreEqual(3, x0[0], 1e-15);
        Assert.AreEqual(low, x0[999], 1e-15);
        var v = new DiffusionObjective(schedule, PredictionType.VPrediction, LossWeighting.MinSnr).Weights();
        Assert.AreEqual(5 / (high + 1), v[0], 1e-15);
        Assert.AreEqual(low / (low + 1), v[999], 1e-15);
        Assert.IsTrue(new DiffusionObjective(schedule).Weights().All(w => w == 1));
    }

    [TestMethod]
    public void Loss_IsTheWeightedMeanOfPerSampleErrors()
    {
        var schedule = NoiseSchedule.Create();
        using var scope = torch.NewDisposeScope();
        var target = torch.zeros([2, 1, 2, 2], ScalarType.Float64);
        var output = torch.tensor(new double[] { 1, 1, 1, 1, 2, 2, 2, 2 }, [2, 1, 2, 2]);  // per-sample MSE 1 and 4
        var t = torch.tensor(new long[] { 0, 999 });
        Assert.AreEqual(2.5, new DiffusionObjective(schedule).Loss(output, target, t).ToDouble(), 1e-12);
        var weighted = new DiffusionObjective(schedule, PredictionType.Epsilon, LossWeighting.MinSnr);
        var w = weighted.Weights();
        Assert.AreEqual(((w[0] * 1) + (w[999] * 4)) / 2, weighted.Loss(output, target, t).ToDouble(), 1e-12);
        Assert.AreEqual(0, weighted.Loss(target, target, t).ToDouble());
    }

    [TestMethod]
    public void SampleTimesteps_AreUniformOverAllSteps()
    {
        var objective = new DiffusionObjective(NoiseSchedule.Create(BetaScheduleKind.Cosine, 10));
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(2);
        var t = objective.SampleTimesteps(20_000, g).data<long>().ToArray();
        var counts = t.GroupBy(v => v).ToDictionary(x => x.Key, x => x.Count());
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).Select(i => (long)i).ToArray(), counts.Keys.ToArray());
        Assert.IsTrue(counts.Values.All(c => Math.Abs(c - 2000) < 200), "each of the 10 steps ≈ 2,000 times (±4.7σ)");
    }

    [TestMethod]
    public void MinSnrWithEpsilon_OnZeroTerminalSnr_IsRejected()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { RescaleZeroTerminalSnr = true });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new DiffusionObjective(schedule, PredictionType.Epsilon, LossWeighting.MinSnr)).Message, "use v prediction");
        _ = new DiffusionObjective(schedule, PredictionType.VPrediction, LossWeighting.MinSnr);
    }
}
