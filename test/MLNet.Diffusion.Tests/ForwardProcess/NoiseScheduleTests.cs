using MLNet.Diffusion.ForwardProcess;


namespace MLNet.Diffusion.Tests.ForwardProcess;

[TestClass]
public sealed class NoiseScheduleTests
{
    /// <summary>
    /// ᾱ_t at several t (0-based) for every schedule, T = 1000 unless stated. Sources: the cosine values are the
    /// closed form f(t+1)/f(0) of Nichol &amp; Dhariwal 2021 eq. 17 (the last with its β clipped to 0.999); the
    /// scaled-linear ᾱ_T is √ᾱ_T = 0.068265 of Lin et al. 2024, Table 1 (Stable Diffusion's schedule); linear and
    /// sigmoid are cumulative products evaluated independently with numpy float64 from the formulas of Ho et al.
    /// 2020 (linear 1e-4..0.02) and of diffusers' "sigmoid" schedule.
    /// </summary>
    [TestMethod]
    [DataRow(BetaScheduleKind.Linear, 1000, 0, 0.9999, 1e-15)]
    [DataRow(BetaScheduleKind.Linear, 1000, 99, 0.89701814567496, 1e-12)]
    [DataRow(BetaScheduleKind.Linear, 1000, 499, 0.07858724288177824, 1e-12)]
    [DataRow(BetaScheduleKind.Linear, 1000, 999, 4.035829765375676e-05, 1e-12)]
    [DataRow(BetaScheduleKind.Linear, 250, 124, 0.07714434674000215, 1e-12)]
    [DataRow(BetaScheduleKind.Linear, 250, 249, 3.264409135490725e-05, 1e-12)]
    [DataRow(BetaScheduleKind.Cosine, 1000, 0, 0.999958715775178, 1e-12)]
    [DataRow(BetaScheduleKind.Cosine, 1000, 499, 0.49384359044063775, 1e-12)]
    [DataRow(BetaScheduleKind.Cosine, 1000, 998, 2.428766907034851e-06, 1e-10)]
    [DataRow(BetaScheduleKind.Cosine, 1000, 999, 2.428766907034851e-09, 1e-10)]
    [DataRow(BetaScheduleKind.ScaledLinear, 1000, 999, 0.004660098513077238, 1e-10)]
    [DataRow(BetaScheduleKind.Sigmoid, 1000, 0, 0.9998507947991829, 1e-12)]
    [DataRow(BetaScheduleKind.Sigmoid, 1000, 499, 0.30193105660219516, 1e-12)]
    [DataRow(BetaScheduleKind.Sigmoid, 1000, 999, 3.968181990533219e-05, 1e-12)]
    public void AlphaBar_MatchesGoldenValues(BetaScheduleKind kind, int timesteps, int t, double expected, double relativeTolerance)
    {
        var schedule = NoiseSchedule.Create(kind, timesteps);
        Assert.AreEqual(expected, schedule.AlphaBar(t), expected * relativeTolerance, $"{kind} ᾱ[{t}]");
    }

    [TestMethod]
    public void ScaledLinear_TerminalSignal_MatchesLinEtAlTable1()
    {
        var schedule = NoiseSchedule.Create(BetaScheduleKind.ScaledLinear);
        Assert.AreEqual(0.068265, Math.Sqrt(schedule.AlphaBar(999)), 5e-7);
        Assert.AreEqual(0.004682, schedule.SignalToNoise(999), 5e-7);
    }

    [TestMethod]
    public void Linear_OtherT_IsScaledToKeepTheTotalNoise()
    {
        var schedule = NoiseSchedule.Create(BetaScheduleKind.Linear, 100);
        Assert.AreEqual(1e-3, schedule.Betas[0], 1e-15);
        Assert.AreEqual(0.2, schedule.Betas[99], 1e-15);
    }

    [TestMethod]
    public void Cosine_ClipsBetaAtTheMaximum()
    {
        var schedule = NoiseSchedule.Create(BetaScheduleKind.Cosine);
        Assert.AreEqual(0.999, schedule.Betas[999], 1e-15);
        Assert.IsTrue(schedule.Betas.Take(999).All(b => b < 0.999));
    }

    [TestMethod]
    [DataRow(BetaScheduleKind.Linear)]
    [DataRow(BetaScheduleKind.Cosine)]
    [DataRow(BetaScheduleKind.ScaledLinear)]
    public void RescaleZeroTerminalSnr_EndsAtZeroSignalAndKeepsTheFirstStep(BetaScheduleKind kind)
    {
        var plain = NoiseSchedule.Create(kind);
        var rescaled = new NoiseSchedule(new NoiseScheduleOptions { Kind = kind, RescaleZeroTerminalSnr = true });
        Assert.AreEqual(0, rescaled.AlphaBar(999), 1e-15);
        Assert.AreEqual(plain.AlphaBar(0), rescaled.AlphaBar(0), 1e-12);
        Assert.AreEqual(1, rescaled.Betas[999], 1e-12);
        // √ᾱ is an affine function of the original √ᾱ (Lin et al. 2024, Algorithm 1).
        var (a0, aT) = (Math.Sqrt(plain.AlphaBar(0)), Math.Sqrt(plain.AlphaBar(999)));
        Assert.AreEqual((Math.Sqrt(plain.AlphaBar(500)) - aT) * a0 / (a0 - aT), Math.Sqrt(rescaled.AlphaBar(500)), 1e-12);
    }

    [TestMethod]
    public void Custom_UsesTheGivenBetas()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { Kind = BetaScheduleKind.Custom, TrainTimesteps = 3, Betas = [0.1, 0.2, 0.5] });
        Assert.AreEqual(0.9 * 0.8 * 0.5, schedule.AlphaBar(2), 1e-15);
        Assert.AreEqual(1, schedule.AlphaBar(-1));
    }

    [TestMethod]
    public void PosteriorVariance_MatchesEquation7AndIsClippedAtTheStart()
    {
        var s = NoiseSchedule.Create();
        for (var t = 1; t < 1000; t += 111)
        {
            var expected = (1 - s.AlphaBar(t - 1)) / (1 - s.AlphaBar(t)) * s.Betas[t];
            Assert.AreEqual(expected, s.PosteriorVariance[t], expected * 1e-12);
            Assert.AreEqual(Math.Log(expected), s.PosteriorLogVarianceClipped[t], 1e-12);
            Assert.IsTrue(s.PosteriorVariance[t] < s.Betas[t], "β̃_t < β_t");
        }

        Assert.AreEqual(0, s.PosteriorVariance[0]);
        Assert.AreEqual(Math.Log(s.PosteriorVariance[1]), s.PosteriorLogVarianceClipped[0], 1e-15);
    }

    [TestMethod]
    public void InvalidOptions_AreRejectedWithTheReason()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new NoiseSchedule(new NoiseScheduleOptions { BetaStart = 0.5, BetaEnd = 1.5 })).Message, "outside (0, 1]");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => NoiseSchedule.Create(timesteps: 0));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new NoiseSchedule(new NoiseScheduleOptions { Kind = BetaScheduleKind.Custom, TrainTimesteps = 4, Betas = [0.1] })).Message, "1 betas but TrainTimesteps is 4");
        Assert.ThrowsExactly<ArgumentException>(() => new NoiseSchedule(new NoiseScheduleOptions { Kind = BetaScheduleKind.Custom }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => NoiseSchedule.Create().AlphaBar(1000));
    }
}
