using System.Text.Json;
using MLNet.Diffusion.Evaluation;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Metrics;

namespace MLNet.Diffusion.Tests.Evaluation;

[TestClass]
public sealed class DiffusionEvaluatorTests
{
    private static DiffusionModel? s_conditional;
    private static TempFolder? s_cache;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_cache = new TempFolder();
        s_conditional = TrainTiny(28, 10);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        s_conditional?.Dispose();
        s_cache?.Dispose();
    }

    // A tiny model after a few steps on 32 Fashion-MNIST images; a 20-step cosine schedule keeps bits/dim cheap (a linear one that short ends at ᾱ = 0).
    private static DiffusionModel TrainTiny(int imageSize, int? classes)
    {
        var (images, labels) = FashionMnist.LoadTrain(32);
        using (images)
        using (labels)
        using (var resized = nn.functional.interpolate(images, [imageSize, imageSize], mode: InterpolationMode.Bilinear, align_corners: false))
        using (var data = new TensorTrainingData(resized, classes is null ? null : labels, classes))
        {
            var options = new DdpmTrainerOptions
            {
                Model = UNetConfig.Preset("tiny", imageSize, 1),
                Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine, TrainTimesteps = 20 },
                ClassConditional = classes is not null, BatchSize = 8, MaxSteps = 2, WarmupSteps = 1, Device = "cpu", SampleGridSize = 0,
            };
            using var result = new DdpmTrainer(options).Train(data);
            return DiffusionModel.FromTraining(result);
        }
    }

    // Shared by every test here (the default folder under XDG_CACHE_HOME in Docs_Example): the reference is computed once.
    private static string CacheDirectory => Path.Combine(s_cache!.Path, "mlnet-diffusion");

    private static EvaluationOptions Options(int count = 20, int batchSize = 8) => new()
    {
        Count = count,
        BatchSize = batchSize,
        CacheDirectory = CacheDirectory,
        Generation = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 3, Seed = 5 },
    };

    [TestMethod]
    public void Evaluate_TinyConditionalModel_ReportsFidFloorClassesAndBitsPerDim()
    {
        var lines = new List<string>();
        var result = DiffusionEvaluator.Evaluate(s_conditional!, Options() with { BitsPerDimCount = 6 }, new SynchronousProgress(lines.Add));

        Assert.AreEqual(20, result.Count);
        Assert.AreEqual(20, result.ClassHistogram.Sum());
        Assert.AreEqual(10, result.ClassHistogram.Count);
        Assert.AreEqual(10, result.ClassAccuracy!.Count);
        Assert.IsTrue(result.ClassAccuracy.All(a => a is >= 0 and <= 1), string.Join(", ", result.ClassAccuracy));
        // Two training steps leave noise: far from Fashion-MNIST, while 20 real images are close to the test set.
        Assert.IsTrue(double.IsFinite(result.Fid) && result.RealDataFid is { } floor && floor > 0 && result.Fid > 2 * floor, $"FID {result.Fid}, floor {result.RealDataFid}");
        // KID likewise: subsets of all 20 generated images against the test set, the floor between two halves of 10 training images.
        Assert.AreEqual((100, 20), (result.Kid!.Subsets, result.Kid.SubsetSize));
        Assert.AreEqual(10, result.RealDataKid!.SubsetSize);
        Assert.IsTrue(result.Kid.Mean > result.RealDataKid.Mean + (3 * result.RealDataKid.StandardDeviation), $"KID {result.Kid}, floor {result.RealDataKid}");
        Assert.AreEqual(6, result.BitsPerDimCount);
        Assert.IsTrue(result.BitsPerDim!.Total > 0 && double.IsFinite(result.BitsPerDim.Total), $"{result.BitsPerDim}");
        Assert.AreEqual(FeatureNetwork.PretrainedSha256, result.FeatureNetworkSha256);
        CollectionAssert.Contains(lines, "generated 20/20");
        Assert.IsTrue(lines.Any(l => l.StartsWith("bits/dim: 6/6", StringComparison.Ordinal)), string.Join(" | ", lines));

        using var folder = new TempFolder();
        result.Save(folder.File("eval.json"));
        using var json = JsonDocument.Parse(File.ReadAllText(folder.File("eval.json")));
        Assert.AreEqual(result.Fid, json.RootElement.GetProperty("Fid").GetDouble());
        Assert.AreEqual(result.Kid.Mean, json.RootElement.GetProperty("Kid").GetProperty("Mean").GetDouble());
        Assert.AreEqual("Ddim", json.RootElement.GetProperty("Generation").GetProperty("Sampler").GetString());
    }

    [TestMethod]
    public void Evaluate_OtherBatchSize_GivesTheSameImagesAndFid()
    {
        // Image i has seed Seed + i however the images are batched; only rounding in batched convolutions may differ.
        var a = DiffusionEvaluator.Evaluate(s_conditional!, Options(count: 12, batchSize: 12) with { ComputeRealDataFloor = false });
        var b = DiffusionEvaluator.Evaluate(s_conditional!, Options(count: 12, batchSize: 5) with { ComputeRealDataFloor = false });
        Assert.AreEqual(a.Fid, b.Fid, 1e-3 * a.Fid);
        CollectionAssert.AreEqual(a.ClassHistogram.ToArray(), b.ClassHistogram.ToArray());
        Assert.IsNull(a.RealDataFid);
    }

    [TestMethod]
    public void Evaluate_ReferenceStatistics_AreCachedAndADamagedCacheIsRecomputed()
    {
        using var network = FeatureNetwork.LoadPretrained();
        var first = ReferenceStatistics.Load(network, FeatureNetwork.PretrainedSha256, CacheDirectory);
        var files = Directory.GetFiles(CacheDirectory, "fid-reference-fashion-mnist-test-*.safetensors");
        Assert.AreEqual(1, files.Length);
        StringAssert.Contains(Path.GetFileName(files[0]), FeatureNetwork.PretrainedSha256[..16]);
        Assert.AreEqual(10_000, first.Count);
        Assert.AreEqual(FeatureNetwork.FeatureCount, first.Dimension);
        var cached = FeatureStatistics.Load(files[0]);
        CollectionAssert.AreEqual(first.Covariance.ToArray(), cached.Covariance.ToArray());

        File.WriteAllBytes(files[0], [1, 2, 3]);
        var recomputed = ReferenceStatistics.Load(network, FeatureNetwork.PretrainedSha256, CacheDirectory);
        Assert.AreEqual(0, FrechetDistance.Compute(first, recomputed), 1e-9);
        Assert.AreEqual(0, FrechetDistance.Compute(first, FeatureStatistics.Load(files[0])), 1e-9, "the damaged file was rewritten");
    }

    [TestMethod]
    public void Evaluate_ModelOfAnotherImageSize_ThrowsNamingBoth()
    {
        using var model = TrainTiny(16, null);
        var error = Assert.ThrowsExactly<ArgumentException>(() => DiffusionEvaluator.Evaluate(model, Options()));
        StringAssert.Contains(error.Message, "28×28 grayscale");
        StringAssert.Contains(error.Message, "1×16×16");
    }

    [TestMethod]
    [DataRow(1, 8, 0, "Count must be at least 2")]
    [DataRow(20, 0, 0, "BatchSize must be at least 1")]
    [DataRow(20, 8, -1, "BitsPerDimCount must be 0")]
    [DataRow(70_000, 8, 0, "Fashion-MNIST has 60,000")]
    public void Evaluate_BadOptions_Throws(int count, int batchSize, int bitsPerDim, string message)
    {
        var options = Options(count, batchSize) with { BitsPerDimCount = bitsPerDim };
        var error = Assert.ThrowsExactly<ArgumentException>(() => DiffusionEvaluator.Evaluate(s_conditional!, options));
        StringAssert.Contains(error.Message, message);
    }

    [TestMethod]
    public void Evaluate_LabelsInGenerationOptions_Throws()
    {
        var options = Options() with { Generation = new GenerationOptions { Label = 3 } };
        var error = Assert.ThrowsExactly<ArgumentException>(() => DiffusionEvaluator.Evaluate(s_conditional!, options));
        StringAssert.Contains(error.Message, "every class in turn");
    }

    [TestMethod]
    public void Docs_Example()
    {
        using var folder = new TempFolder();
        var path = folder.File("model.zip");
        var jsonPath = folder.File("eval.json");
        s_conditional!.Save(path);
        var (count, steps, bitsPerDimImages) = (10, 2, 2);
        var cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", s_cache!.Path);  // keep the test's cache out of the user's
        try
        {
            // docs: evaluate
            using var model = DiffusionModel.Load(path, "cpu");
            var result = DiffusionEvaluator.Evaluate(model, new EvaluationOptions
            {
                Count = count,                       // 10,000 in the protocol
                Generation = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = steps, Seed = 0 },
                BitsPerDimCount = bitsPerDimImages,  // test images for the bound; 0 skips it
            });
            Console.WriteLine($"FID {result.Fid:F2} (floor at {result.Count} images: {result.RealDataFid:F2}), " +
                $"{result.BitsPerDim?.Total:F3} bits/dim, mean class accuracy {result.MeanClassAccuracy:P1}");
            result.Save(jsonPath);
            // end
            Assert.AreEqual(2, result.BitsPerDimCount);
            Assert.IsTrue(File.Exists(jsonPath));
            Assert.AreEqual(1, Directory.GetFiles(CacheDirectory, "fid-reference-*").Length, "the cache follows XDG_CACHE_HOME");
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", cacheHome);
        }
    }

    private sealed class SynchronousProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
