using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Tests.Training;

[TestClass]
public sealed class LossWindowTests
{
    [TestMethod]
    [DataRow(0L, 10)]
    [DataRow(200L, 10)]
    [DataRow(549L, 10)]
    [DataRow(550L, 11)]
    [DataRow(3000L, 60)]
    public void Size_IsTheLargerOfTenAndAFiftiethOfTheRun(long steps, int window) => Assert.AreEqual(window, LossWindow.Size(steps));

    [TestMethod]
    public void MeanAndCurve_AverageTheTrailingWindow()
    {
        double[] losses = [4, 2, 6, 8, 10];
        Assert.AreEqual((6 + 8 + 10) / 3.0, LossWindow.Mean(losses, 3));
        Assert.AreEqual((4 + 2) / 2.0, LossWindow.Mean(losses, 3, end: 1), "fewer at the start");
        Assert.IsTrue(double.IsNaN(LossWindow.Mean([], 3)));
        var curve = LossWindow.Curve(losses, 3);
        CollectionAssert.AreEqual(Enumerable.Range(0, losses.Length).Select(i => LossWindow.Mean(losses, 3, i)).ToArray(), curve);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LossWindow.Mean(losses, 0));
    }
}
