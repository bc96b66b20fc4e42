using MLNet.Diffusion.Metrics;
using TorchSharp;

namespace MLNet.Diffusion.Tests.Metrics;

/// <summary>Improved precision and recall: the paper's definition by brute force, and what mode collapse and disjoint sets give.</summary>
[TestClass]
public sealed class PrecisionRecallTests
{
    [TestMethod]
    public void SmallSets_MatchTheDefinitionByBruteForce()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var (real, generated) = (torch.randn([9, 3], dtype: torch.float64), (torch.randn([9, 3], dtype: torch.float64) * 1.5) + 0.4);
        var (r, g) = (Rows(real), Rows(generated));
        static double D(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());
        // The ball of row i reaches its k-th nearest other row.
        static double[] Radii(double[][] set, int k) => [.. set.Select((p, i) => set.Where((_, j) => j != i).Select(q => D(p, q)).Order().ElementAt(k - 1))];
        var (realRadii, generatedRadii) = (Radii(r, 3), Radii(g, 3));
        var precision = g.Count(p => r.Select((c, j) => D(p, c) <= realRadii[j]).Any(x => x)) / 9.0;
        var recall = r.Count(p => g.Select((c, j) => D(p, c) <= generatedRadii[j]).Any(x => x)) / 9.0;

        var estimate = PrecisionRecall.Compute(real, generated);
        Assert.AreEqual(precision, estimate.Precision, 1e-12);
        Assert.AreEqual(recall, estimate.Recall, 1e-12);
        Assert.AreEqual((3, 9, 9), (estimate.Neighbours, estimate.RealCount, estimate.GeneratedCount));
    }

    [TestMethod]
    public void ModeCollapse_KeepsPrecision_AndLosesRecall_AndDisjointSetsScoreZero()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(13);
        var real = torch.randn([1500, 8]);
        var same = PrecisionRecall.Compute(real, torch.randn([1500, 8]));
        // A model that makes only the images near one corner of the data: realistic, with no variety.
        var collapsed = PrecisionRecall.Compute(real, (torch.randn([1500, 8]) * 0.2f) + 0.5f);
        var disjoint = PrecisionRecall.Compute(real, torch.randn([1500, 8]) + 20);
        Console.WriteLine($"same distribution {same}; collapsed {collapsed}; disjoint {disjoint}");
        Assert.IsGreaterThan(0.8, same.Precision);
        Assert.IsGreaterThan(0.8, same.Recall);
        Assert.IsGreaterThan(0.95, collapsed.Precision);
        Assert.IsLessThan(0.2, collapsed.Recall);
        Assert.AreEqual((0.0, 0.0), (disjoint.Precision, disjoint.Recall));
    }

    [TestMethod]
    public void SetsTooSmallForK_OrOfDifferentWidths_AreRefusedWithTheirShapes()
    {
        using var scope = torch.NewDisposeScope();
        var error = Assert.ThrowsExactly<ArgumentException>(() => PrecisionRecall.Compute(torch.zeros(3, 4), torch.zeros(10, 4)));
        StringAssert.Contains(error.Message, "more than k = 3 rows each, not [3, 4] and [10, 4]");
        Assert.ThrowsExactly<ArgumentException>(() => PrecisionRecall.Compute(torch.zeros(10, 4), torch.zeros(10, 5)));
    }

    private static double[][] Rows(torch.Tensor t) =>
        [.. Enumerable.Range(0, (int)t.size(0)).Select(i => t[i].data<double>().ToArray())];
}
