using MLNet.Diffusion.Images;


namespace MLNet.Diffusion.Tests;

[TestClass]
public sealed class ExampleTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void FashionMnist_TinyRun_WritesAGridWithARowPerClass()
    {
        var output = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "fashion-" + Guid.NewGuid().ToString("N"));
        using var log = new StringWriter();
        var grid = FashionMnistExample.Program.Run(new FashionMnistExample.Settings
        {
            Steps = 2, BatchSize = 8, Limit = 64, Preset = "tiny", Output = output, PerClass = 2, Model = Path.Combine(output, "model.zip"),
        }, log);
        using (var model = DiffusionModel.Load(Path.Combine(output, "model.zip"), "cpu"))
        {
            Assert.AreEqual(10, model.Config.NumClasses);
            Assert.AreEqual(2, model.Training!.Steps);
        }

        var image = ImageCodec.Load(grid);
        Assert.AreEqual((2 * (2 + (2 * 30)), 2 * (2 + (10 * 30))), (image.Width, image.Height), "2 columns × 10 class rows of 28 px cells, 2 px padding, enlarged 2×");
        Assert.AreEqual(2, Directory.GetFiles(Path.Combine(output, "checkpoints"), "checkpoint-*.safetensors").Length, "one checkpoint per step (every Steps/4, at least 1)");
        StringAssert.Contains(log.ToString(), "Fashion-MNIST: 64 images, 10 classes");
        StringAssert.Contains(log.ToString(), "images/s");
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "report.html")), "Fashion-MNIST training report");
    }
}
