using MLNet.Diffusion.Engine;
using MLNet.Diffusion.IO;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.Metrics;

namespace MLNet.Diffusion.Tests.Metrics;

[TestClass]
public sealed class FeatureNetworkTests
{
    private static string CommittedWeightsPath([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../../src/MLNet.Diffusion/Metrics/fid-feature-net.safetensors"));

    [TestMethod]
    public void LoadPretrained_CommittedWeights_MatchTheirRecordedHash()
    {
        var bytes = File.ReadAllBytes(CommittedWeightsPath());
        Assert.AreEqual(FeatureNetwork.PretrainedSha256, FeatureNetwork.Sha256(bytes), "the committed file and the recorded hash");
        Assert.IsTrue(bytes.Length < 2_000_000, $"{bytes.Length} bytes");
        using var network = FeatureNetwork.LoadPretrained();
        Assert.IsFalse(network.training);
        Assert.AreEqual(bytes.Length - 8 - BitConverter.ToInt64(bytes, 0), network.ParameterCount() * 4, "every float32 of the file is a parameter");
    }

    [TestMethod]
    public void WeightsSha256_IsTheLoadedFilesHash_OrTheParametersOfANetworkBuiltInMemory()
    {
        // The feature cache is named by this hash: another network's features must never be read back for the committed one's.
        using var pretrained = FeatureNetwork.LoadPretrained();
        Assert.AreEqual(FeatureNetwork.PretrainedSha256, ((IImageFeatureExtractor)pretrained).WeightsSha256);
        torch.manual_seed(1);
        using var fresh = new FeatureNetwork();
        IImageFeatureExtractor extractor = fresh;
        var before = extractor.WeightsSha256;
        Assert.AreNotEqual(FeatureNetwork.PretrainedSha256, before);
        Assert.AreEqual(64, before.Length);
        using (torch.no_grad())
        {
            fresh.parameters().First().add_(1);
        }

        Assert.AreNotEqual(before, extractor.WeightsSha256, "changed weights, changed hash");
    }

    [TestMethod]
    public void Pretrained_TestAccuracy_IsAtLeast89PercentOnTheFirst2000TestImages()
    {
        var (images, labels) = FashionMnist.LoadTest(2000);
        using (images)
        using (labels)
        using (var network = FeatureNetwork.LoadPretrained())
        {
            var accuracy = network.Accuracy(images, labels);
            Assert.IsTrue(accuracy >= 0.89, $"accuracy {accuracy:P2}");
        }
    }

    [TestMethod]
    public void Load_TamperedWeights_ThrowsNamingTheHash()
    {
        var bytes = File.ReadAllBytes(CommittedWeightsPath());
        bytes[^1] ^= 1;
        var error = Assert.ThrowsExactly<InvalidDataException>(() => FeatureNetwork.Load(bytes, FeatureNetwork.PretrainedSha256, "tampered.safetensors"));
        StringAssert.Contains(error.Message, "tampered.safetensors");
        StringAssert.Contains(error.Message, FeatureNetwork.PretrainedSha256);
    }

    [TestMethod]
    public void Load_WeightsOfAnotherNetwork_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = Safetensors.Serialize([KeyValuePair.Create("conv1.weight", torch.zeros([3, 3]))]);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => FeatureNetwork.Load(bytes, FeatureNetwork.Sha256(bytes)));
        StringAssert.Contains(error.Message, "does not hold FID feature network weights");
    }

    [TestMethod]
    public void Features_WrongImageSize_ThrowsNamingTheAcceptedShape()
    {
        using var network = new FeatureNetwork();
        using var images = torch.zeros([2, 3, 32, 32]);
        var error = Assert.ThrowsExactly<ArgumentException>(() => network.Features(images));
        StringAssert.Contains(error.Message, "[N, 1, 28, 28]");
        StringAssert.Contains(error.Message, "[2, 3, 32, 32]");
    }

    [TestMethod]
    public void Features_Batch_HasFeatureCountColumnsAndClassifyGivesTenLogits()
    {
        using var network = FeatureNetwork.LoadPretrained();
        using var scope = torch.NewDisposeScope();
        var features = network.Features(torch.zeros([3, 1, 28, 28]));
        CollectionAssert.AreEqual(new long[] { 3, FeatureNetwork.FeatureCount }, features.shape);
        CollectionAssert.AreEqual(new long[] { 3, 10 }, network.Classify(features).shape);
    }

    [TestMethod]
    public void Trainer_TinyRun_IsReproducibleAndWritesLoadableWeights()
    {
        using var folder = new TempFolder();
        using var log = new StringWriter();
        var settings = new FeatureNetTrainer.Settings { Epochs = 1, Limit = 256, TestLimit = 100, BatchSize = 64, Output = folder.File("a.safetensors") };
        var first = FeatureNetTrainer.Program.Run(settings, log);
        var second = FeatureNetTrainer.Program.Run(settings with { Output = folder.File("b.safetensors") }, log);
        Assert.AreEqual(first.Sha256, second.Sha256, "same seed, same data, same weights");
        Assert.AreEqual(first.TestAccuracy, second.TestAccuracy);
        Assert.IsTrue(first.TestAccuracy is >= 0 and <= 1, $"{first.TestAccuracy}");
        using var network = FeatureNetwork.Load(File.ReadAllBytes(first.Path), first.Sha256);
        StringAssert.Contains(log.ToString(), "256 training images, 1 epochs of 4 steps of 64");
        StringAssert.Contains(log.ToString(), first.Sha256);
    }
}
