using MLNet.Diffusion.Metrics;
using TorchSharp;

namespace MLNet.Diffusion.Tests.Metrics;

/// <summary>The nearest-neighbour ratio: copies of training images score 0, new images near 1, and the nearest image is found.</summary>
[TestClass]
public sealed class MemorizationTests
{
    [TestMethod]
    public void CopiesScoreZero_NewImagesScoreNearOne_AndTheNearestImageIsNamed()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        var training = (torch.rand([300, 1, 8, 8]) * 2) - 1;
        // Images 0..3 copy training images 10, 20, 30 and 40 (with a little noise); images 4..9 are new.
        var copies = training.index_select(0, torch.tensor(new long[] { 10, 20, 30, 40 })) + (torch.randn([4, 1, 8, 8]) * 0.01f);
        var generated = torch.cat([copies, (torch.rand([6, 1, 8, 8]) * 2) - 1]);

        var result = Memorization.Compute(generated, training);
        Console.WriteLine(string.Join(", ", result.Ratios.Select(r => r.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
        CollectionAssert.AreEqual(new[] { 10, 20, 30, 40 }, result.NearestTrainingImage.Take(4).ToArray());
        Assert.IsTrue(result.Ratios.Take(4).All(r => r < 0.05), "a copy's nearest image is far closer than its 50 nearest on average");
        Assert.IsTrue(result.Ratios.Skip(4).All(r => r > 0.8), "a new image is about as far from all its neighbours");
        Assert.AreEqual(0.4, result.ShareBelowThreshold, 1e-12);
        Assert.AreEqual(10, result.Histogram.Sum());
        Assert.AreEqual(4, result.Histogram[0]);
        CollectionAssert.AreEquivalent(new[] { 0, 1, 2, 3 }, result.Closest(4).ToArray());
        var direct = (generated[0] - training[10]).pow(2).sum().sqrt().ToDouble();
        Assert.AreEqual(direct, result.NearestDistance[0], 1e-4);
    }

    [TestMethod]
    public void ImagesOfAnotherSize_AreRefusedWithBothShapes()
    {
        using var scope = torch.NewDisposeScope();
        var error = Assert.ThrowsExactly<ArgumentException>(() => Memorization.Compute(torch.zeros(2, 1, 8, 8), torch.zeros(5, 3, 8, 8)));
        StringAssert.Contains(error.Message, "not [2, 1, 8, 8] and [5, 3, 8, 8]");
    }
}
