using MLNet.Diffusion.Evaluation;
using MLNet.Diffusion.Metrics;
using TorchSharp;

namespace MLNet.Diffusion.Tests.Evaluation;

/// <summary>ResNet-18 through ML.NET's DnnFeaturizeImage: the values ML.NET's own test pins, and how images reach it.</summary>
[TestClass]
public sealed class ResNet18FeatureExtractorTests
{
    private static ResNet18FeatureExtractor? s_network;

    [ClassInitialize]
    public static void Load(TestContext context) => s_network = new ResNet18FeatureExtractor();

    [ClassCleanup]
    public static void Cleanup() => s_network?.Dispose();

    /// <summary>ML.NET's DnnImageFeaturizerTest: input i / 150,528 gives out[7] ≈ 0.629375, out[500] ≈ 0.155218 and a sum near 84.</summary>
    [TestMethod]
    public void RampInput_GivesTheValuesMLNetsOwnTestPins()
    {
        var input = new float[ResNet18FeatureExtractor.InputLength];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = i / (float)input.Length;
        }

        var output = s_network!.Featurize([input]).Single();
        Console.WriteLine($"out[0] {output[0]:F6}, out[7] {output[7]:F6}, out[500] {output[500]:F6}, sum {output.Sum():F3}");
        Assert.AreEqual(512, output.Length);
        Assert.IsTrue(output[0] is >= 0 and <= 0.00001f, $"out[0] {output[0]}");
        Assert.IsTrue(output[7] is >= 0.62935f and <= 0.62940f, $"out[7] {output[7]}");
        Assert.IsTrue(output[500] is >= 0.15521f and <= 0.155225f, $"out[500] {output[500]}");
        Assert.IsTrue(output.Sum() is >= 83.5f and <= 84.5f, $"sum {output.Sum()}");
    }

    /// <summary>A 224-px image goes in as planar RGB 0–255 (no resize); a gray image is the RGB image with three equal planes.</summary>
    [TestMethod]
    public void Images_ReachTheNetworkAsPlanarRgb0To255_AndGrayAsThreeEqualPlanes()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var gray = (torch.rand([2, 1, 224, 224]) * 2) - 1;
        var features = s_network!.Extract(gray);
        CollectionAssert.AreEqual(new long[] { 2, 512 }, features.shape);
        var direct = s_network.Featurize([.. Enumerable.Range(0, 2).Select(i => ((gray[i].expand(3, -1, -1) + 1) * 127.5f).contiguous().data<float>().ToArray())]);
        for (var i = 0; i < 2; i++)
        {
            CollectionAssert.AreEqual(direct[i], features[i].data<float>().ToArray());
        }

        Assert.IsTrue(features.eq(s_network.Extract(gray.expand(-1, 3, -1, -1))).all().ToBoolean());
    }

    [TestMethod]
    public void SmallImages_AreResizedTo224_AndTheIdentityIsTheNetworksHash()
    {
        using var scope = torch.NewDisposeScope();
        var features = s_network!.Extract(torch.zeros([3, 3, 16, 16]));
        CollectionAssert.AreEqual(new long[] { 3, 512 }, features.shape);
        Assert.AreEqual(64, s_network.WeightsSha256.Length);
        StringAssert.Contains(s_network.Name, "ResNet-18");
        var error = Assert.ThrowsExactly<ArgumentException>(() => s_network.Extract(torch.zeros([1, 2, 16, 16])));
        StringAssert.Contains(error.Message, "C 1 or 3");
    }

    [TestMethod]
    public void MissingModelFolder_NamesTheFileAndHowToGetIt()
    {
        var error = Assert.ThrowsExactly<FileNotFoundException>(() => new ResNet18FeatureExtractor("/nonexistent/models"));
        StringAssert.Contains(error.Message, "'/nonexistent/models/ResNet18Onnx/ResNet18.onnx' is missing");
        StringAssert.Contains(error.Message, "MLNet.Diffusion.Evaluation package");
    }

    [TestMethod]
    public void CoreWithoutThePackage_NamesThePackageToAdd()
    {
        var error = Assert.ThrowsExactly<InvalidOperationException>(() =>
            FeatureExtractors.Create(EvaluationFeatures.ResNet18, torch.CPU, "MLNet.Diffusion.Evaluation.ResNet18FeatureExtractor, NoSuchAssembly"));
        StringAssert.Contains(error.Message, "dotnet add package MLNet.Diffusion.Evaluation");
        using var found = FeatureExtractors.Create(EvaluationFeatures.ResNet18, torch.CPU);
        Assert.IsInstanceOfType<ResNet18FeatureExtractor>(found);
        Assert.IsInstanceOfType<IImageFeatureExtractor>(found);
    }
}
