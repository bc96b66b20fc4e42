using MLNet.Diffusion.Metrics;
using TorchSharp;

namespace MLNet.Diffusion.Tests.Metrics;

/// <summary>KID: the unbiased MMD² against a direct sum over pairs, unbiasedness on one distribution, its sign on two, and its seed.</summary>
[TestClass]
public sealed class KernelInceptionDistanceTests
{
    [TestMethod]
    public void OneSubsetOfEveryRow_IsTheUnbiasedMmdOfThePaper()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var (x, y) = (torch.randn([7, 5], dtype: torch.float64), torch.randn([7, 5], dtype: torch.float64) + 0.3);
        var (a, b) = (x.data<double>().ToArray(), y.data<double>().ToArray());
        double K(double[] u, int i, double[] v, int j) => Math.Pow(Enumerable.Range(0, 5).Sum(k => u[(i * 5) + k] * v[(j * 5) + k]) / 5 + 1, 3);
        double xx = 0, yy = 0, xy = 0;
        for (var i = 0; i < 7; i++)
        {
            for (var j = 0; j < 7; j++)
            {
                xx += i == j ? 0 : K(a, i, a, j);
                yy += i == j ? 0 : K(b, i, b, j);
                xy += K(a, i, b, j);
            }
        }

        var expected = (xx / (7 * 6)) + (yy / (7 * 6)) - (2 * xy / (7 * 7));
        var kid = KernelInceptionDistance.Compute(x, y, subsets: 3, subsetSize: 1000);
        Assert.AreEqual(expected, kid.Mean, 1e-12, "every subset holds all rows, in some order");
        Assert.AreEqual(0, kid.StandardDeviation, 1e-12);
        Assert.AreEqual((3, 7), (kid.Subsets, kid.SubsetSize));
    }

    [TestMethod]
    public void OneDistribution_GivesAboutZero_AndAShiftedOne_Clearly_More()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var (real, same, shifted) = (torch.randn([600, 16]), torch.randn([600, 16]), torch.randn([600, 16]) + 0.25f);
        var close = KernelInceptionDistance.Compute(real, same, subsets: 20, subsetSize: 300, seed: 1);
        var far = KernelInceptionDistance.Compute(real, shifted, subsets: 20, subsetSize: 300, seed: 1);
        Console.WriteLine($"same distribution {close.Mean:E3} ± {close.StandardDeviation:E3}; shifted by 0.25 {far.Mean:E3} ± {far.StandardDeviation:E3}");
        Assert.IsLessThan(3 * close.StandardDeviation, Math.Abs(close.Mean), "unbiased: near 0 within its spread");
        Assert.IsGreaterThan(10 * Math.Abs(close.Mean) + (3 * far.StandardDeviation), far.Mean);
        Assert.AreEqual(far, KernelInceptionDistance.Compute(real, shifted, subsets: 20, subsetSize: 300, seed: 1), "one seed, one value");
        Assert.AreNotEqual(far.Mean, KernelInceptionDistance.Compute(real, shifted, subsets: 20, subsetSize: 300, seed: 2).Mean);
    }

    /// <summary>Through the committed feature network: two disjoint halves of Fashion-MNIST's test images against test images and uniform noise.</summary>
    [TestMethod]
    public void TwoHalvesOfTheTestSet_ScoreFarBelowTestImagesAgainstNoise()
    {
        using var scope = torch.NewDisposeScope();
        using var network = FeatureNetwork.LoadPretrained();
        var (images, _) = MLNet.Diffusion.Datasets.FashionMnist.LoadTest(1000);
        var features = ReferenceStatistics.Features(network, images);
        torch.manual_seed(5);
        var noise = ReferenceStatistics.Features(network, (torch.rand([500, 1, 28, 28]) * 2) - 1);
        // Subsets of 250 of the 500, so that they differ and the spread says something.
        var halves = KernelInceptionDistance.Compute(features.narrow(0, 0, 500), features.narrow(0, 500, 500), subsetSize: 250);
        var againstNoise = KernelInceptionDistance.Compute(features.narrow(0, 0, 500), noise, subsetSize: 250);
        Console.WriteLine($"500 against 500, subsets of 250: two halves of the test set {halves.Mean:F5} ± {halves.StandardDeviation:F5}; " +
            $"test images against uniform noise {againstNoise.Mean:F5} ± {againstNoise.StandardDeviation:F5}");
        Assert.IsLessThan(3 * halves.StandardDeviation, Math.Abs(halves.Mean), "unbiased: the halves' KID is 0 within its spread");
        Assert.IsGreaterThan(20 * (Math.Abs(halves.Mean) + halves.StandardDeviation), againstNoise.Mean);
    }

    [TestMethod]
    public void FeaturesOfAnotherShape_AreRefused()
    {
        using var scope = torch.NewDisposeScope();
        Assert.ThrowsExactly<ArgumentException>(() => KernelInceptionDistance.Compute(torch.zeros([5, 4]), torch.zeros([5, 3])));
        Assert.ThrowsExactly<ArgumentException>(() => KernelInceptionDistance.Compute(torch.zeros([1, 4]), torch.zeros([5, 4])));
        Assert.ThrowsExactly<ArgumentException>(() => KernelInceptionDistance.Compute(torch.full([3, 4], float.NaN), torch.zeros([5, 4])));
    }
}
