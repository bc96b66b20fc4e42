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
using MLNet.Diffusion.Images;

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
        // Below 1,024 images FID is not reported: its bias would dominate.
        Assert.IsTrue(double.IsNaN(result.Fid), $"FID {result.Fid}");
        Assert.IsNull(result.RealDataFid);
        // Two training steps leave noise: KID over subsets of all 20 generated images against the test set is far above its
        // floor between two halves of 10 training images.
        Assert.AreEqual((100, 20), (result.Kid!.Subsets, result.Kid.SubsetSize));
        Assert.AreEqual(10, result.RealDataKid!.SubsetSize);
        Assert.IsTrue(result.Kid.Mean > result.RealDataKid.Mean + (3 * result.RealDataKid.StandardDeviation), $"KID {result.Kid}, floor {result.RealDataKid}");
        // Precision/recall against 20 test images; noise is inside no real image's neighbourhood.
        Assert.AreEqual((20, 20, 3), (result.PrecisionRecall!.RealCount, result.PrecisionRecall.GeneratedCount, result.PrecisionRecall.Neighbours));
        Console.WriteLine($"precision/recall {result.PrecisionRecall}; floor {result.RealDataPrecisionRecall}");
        Assert.IsLessThan(result.RealDataPrecisionRecall!.Recall, result.PrecisionRecall.Recall);
        // Memorization against the 60,000 training images: noise copies none of them.
        Assert.AreEqual(20, result.Memorization!.Ratios.Count);
        Assert.AreEqual(0, result.Memorization.ShareBelowThreshold);
        Assert.AreEqual("Fashion-MNIST training set: 60,000 images", result.TrainingData);
        Assert.AreEqual(("Fashion-MNIST test set", 10_000), (result.Reference, result.ReferenceCount));
        StringAssert.Contains(result.FeatureNetwork, "Fashion-MNIST feature network");
        Assert.AreEqual(6, result.BitsPerDimCount);
        Assert.IsTrue(result.BitsPerDim!.Total > 0 && double.IsFinite(result.BitsPerDim.Total), $"{result.BitsPerDim}");
        Assert.AreEqual(FeatureNetwork.PretrainedSha256, result.FeatureNetworkSha256);
        // The classifier (90 % accurate) on the balanced test set: 1,000 images a class give or take its errors.
        Assert.AreEqual(10_000, result.ReferenceClassHistogram.Sum());
        Assert.IsTrue(result.ReferenceClassHistogram.All(n => n is > 700 and < 1300), string.Join(", ", result.ReferenceClassHistogram));
        Assert.AreEqual(EvaluationResult.TotalVariation(result.ClassHistogram, result.ReferenceClassHistogram), result.ClassHistogramTotalVariation);
        Assert.AreEqual(0.5 * 10 * Math.Sqrt(2 * 0.1 * 0.9 * ((1 / 20.0) + (1 / 10_000.0)) / Math.PI), result.ClassHistogramTotalVariationFloor!.Value, 0.01);
        CollectionAssert.Contains(lines, "generated 20/20");
        Assert.IsTrue(lines.Any(l => l.StartsWith("bits/dim: 6/6", StringComparison.Ordinal)), string.Join(" | ", lines));

        using var folder = new TempFolder();
        result.Save(folder.File("eval.json"));
        using var json = JsonDocument.Parse(File.ReadAllText(folder.File("eval.json")));
        Assert.AreEqual("NaN", json.RootElement.GetProperty("Fid").GetString());
        Assert.AreEqual(result.PrecisionRecall.Recall, json.RootElement.GetProperty("PrecisionRecall").GetProperty("Recall").GetDouble());
        Assert.AreEqual(result.Kid.Mean, json.RootElement.GetProperty("Kid").GetProperty("Mean").GetDouble());
        Assert.AreEqual("Ddim", json.RootElement.GetProperty("Generation").GetProperty("Sampler").GetString());
    }

    [TestMethod]
    [DataRow(new[] { 5, 5 }, new[] { 50, 50 }, 0.0)]
    [DataRow(new[] { 10, 0 }, new[] { 0, 7 }, 1.0)]
    [DataRow(new[] { 3, 1 }, new[] { 1, 1 }, 0.25)]
    public void TotalVariation_IsHalfTheL1DistanceOfTheFrequencies(int[] generated, int[] reference, double expected) =>
        Assert.AreEqual(expected, EvaluationResult.TotalVariation(generated, reference), 1e-12);

    [TestMethod]
    public void ClassHistogramTotalVariationFloor_MatchesPerfectModelsDrawnAtRandom()
    {
        // A "perfect model" and the reference both draw their classes from the same frequencies (here unequal): N and M images.
        // The floor says how far apart their histograms land on average.
        int[] frequencies = [1500, 1500, 1000, 1000, 1000, 1000, 1000, 800, 700, 500];
        var cumulative = frequencies.Select((_, c) => frequencies.Take(c + 1).Sum() / 10_000.0).ToArray();
        var random = new Random(1);
        const int N = 1000, M = 10_000;
        int[] Draw(int count)
        {
            var histogram = new int[frequencies.Length];
            for (var i = 0; i < count; i++)
            {
                var u = random.NextDouble();
                histogram[Array.FindIndex(cumulative, p => u < p)]++;
            }

            return histogram;
        }

        var distances = Enumerable.Range(0, 1000).Select(_ => EvaluationResult.TotalVariation(Draw(N), Draw(M))).ToList();
        var reference = frequencies;  // q as a histogram of M images
        var result = new EvaluationResult(double.NaN, N, new GenerationOptions(), null, new int[10], null, null, 0, "", TimeSpan.Zero) { ReferenceClassHistogram = reference };
        Assert.AreEqual(distances.Average(), result.ClassHistogramTotalVariationFloor!.Value, 0.03 * distances.Average());
    }

    [TestMethod]
    public void Evaluate_1024Images_ReportsFidAboveItsFloor()
    {
        var result = DiffusionEvaluator.Evaluate(s_conditional!, Options(count: DiffusionEvaluator.MinimumFidCount, batchSize: 256) with
        {
            Generation = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 2, Seed = 5 },
            ComputeMemorization = false,
        });
        Console.WriteLine($"FID {result.Fid:F2}, floor {result.RealDataFid:F2}; {result.FloorDescription}");
        Assert.IsTrue(double.IsFinite(result.Fid) && result.RealDataFid is { } floor && floor > 0 && result.Fid > 2 * floor, $"FID {result.Fid}, floor {result.RealDataFid}");
        StringAssert.StartsWith(result.FloorDescription, "the first 1024 Fashion-MNIST training images");
        Assert.IsNull(result.Memorization);
    }

    [TestMethod]
    public void Evaluate_OtherBatchSize_GivesTheSameImagesAndKid()
    {
        // Image i has seed Seed + i however the images are batched; only rounding in batched convolutions may differ.
        var a = DiffusionEvaluator.Evaluate(s_conditional!, Options(count: 12, batchSize: 12) with { ComputeRealDataFloor = false });
        var b = DiffusionEvaluator.Evaluate(s_conditional!, Options(count: 12, batchSize: 5) with { ComputeRealDataFloor = false });
        Assert.AreEqual(a.Kid!.Mean, b.Kid!.Mean, 1e-3 * Math.Abs(a.Kid.Mean));
        CollectionAssert.AreEqual(a.Memorization!.NearestTrainingImage.ToArray(), b.Memorization!.NearestTrainingImage.ToArray());
        CollectionAssert.AreEqual(a.ClassHistogram.ToArray(), b.ClassHistogram.ToArray());
        Assert.IsNull(a.RealDataFid);
    }

    [TestMethod]
    public void ReferenceFeatures_AreCachedByContentHash_AndADamagedCacheIsRecomputed()
    {
        using var scope = torch.NewDisposeScope();
        using var network = FeatureNetwork.LoadPretrained();
        using var cache = new TempFolder();
        var (images, _) = FashionMnist.LoadTest(300);
        var first = ReferenceStatistics.CachedFeatures(network, images, "300 test images", cache.Path);
        var files = Directory.GetFiles(cache.Path, "features-*.safetensors");
        Assert.AreEqual(1, files.Length);
        StringAssert.StartsWith(Path.GetFileName(files[0]), $"features-{FeatureNetwork.PretrainedSha256[..16]}-");
        CollectionAssert.AreEqual(new long[] { 300, FeatureNetwork.FeatureCount }, first.shape);
        Assert.IsTrue(first.eq(ReferenceStatistics.CachedFeatures(network, images, "300 test images", cache.Path)).all().ToBoolean());

        // Other pixels are other content: a second file, never the first one's features.
        var other = ReferenceStatistics.CachedFeatures(network, images.narrow(0, 0, 299), "299 test images", cache.Path);
        Assert.AreEqual(2, Directory.GetFiles(cache.Path, "features-*.safetensors").Length);
        Assert.AreEqual(299, other.size(0));

        File.WriteAllBytes(files[0], [1, 2, 3]);
        var recomputed = ReferenceStatistics.CachedFeatures(network, images, "300 test images", cache.Path);
        Assert.IsTrue(first.eq(recomputed).all().ToBoolean());
        Assert.IsGreaterThan(1000L, new FileInfo(files[0]).Length, "the damaged file was rewritten");
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
    public void FashionMnistFeatures_ForAnotherImageSize_AreRefusedAlikeByTheEvaluatorAndTheTrainer()
    {
        using var model = TrainTiny(16, null);
        var (test, _) = FashionMnist.LoadTest(8);
        using (test)
        {
            var error = Assert.ThrowsExactly<ArgumentException>(() => DiffusionEvaluator.Evaluate(model, Options(count: 4) with
            {
                Reference = EvaluationData.FromImages(test, "8 test images"),
                Features = EvaluationFeatures.FashionMnist,
            }));
            StringAssert.Contains(error.Message, "takes 28×28 grayscale images; this model makes 1×16×16");
        }

        using var data = new TensorTrainingData(torch.zeros(8, 1, 16, 16), null, null);
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 16, 1), MaxSteps = 1, BatchSize = 4, Device = "cpu", SampleGridSize = 0,
            EvaluateEvery = 1, EvaluationCount = 4, EvaluationFeatures = EvaluationFeatures.FashionMnist,
        };
        var trainerError = Assert.ThrowsExactly<ArgumentException>(() => new DdpmTrainer(options).Train(data).Dispose());
        StringAssert.Contains(trainerError.Message, "takes 28×28 grayscale images; this model makes 1×16×16");
    }

    [TestMethod]
    public void Evaluate_AgainstImagesOfAnotherSize_WithResNet18_ReportsFloorsMemorizationAndClosestPairs()
    {
        using var model = TrainTiny(16, null);
        using var folder = new TempFolder();
        var (test, _) = FashionMnist.LoadTest(40);
        using (test)
        {
            var pairs = folder.File("closest.png");
            var result = DiffusionEvaluator.Evaluate(model, Options(count: 16) with
            {
                Reference = EvaluationData.FromImages(test, "40 Fashion-MNIST test images at 28 px"),
                ClosestPairsPath = pairs,
            });

            StringAssert.Contains(result.FeatureNetwork, "ResNet-18");
            Assert.AreEqual(64, result.FeatureNetworkSha256.Length);
            Assert.AreEqual(("40 Fashion-MNIST test images at 28 px", 40), (result.Reference, result.ReferenceCount));
            Assert.IsTrue(double.IsNaN(result.Fid));
            Assert.AreEqual(0, result.ClassHistogram.Count, "no classifier comes with ResNet-18");
            Assert.IsNull(result.ClassAccuracy);
            Assert.AreEqual("two disjoint halves of 8 images of the 40 Fashion-MNIST test images at 28 px", result.FloorDescription);
            Assert.AreEqual(8, result.RealDataKid!.SubsetSize);
            Assert.AreEqual((16, 16), (result.PrecisionRecall!.RealCount, result.PrecisionRecall.GeneratedCount));
            Assert.IsTrue(result.Kid!.Mean > result.RealDataKid.Mean, $"KID {result.Kid}, floor {result.RealDataKid}");
            Assert.AreEqual("40 Fashion-MNIST test images at 28 px: 40 images", result.TrainingData);
            Assert.IsTrue(result.Memorization!.NearestTrainingImage.All(i => i is >= 0 and < 40));
            // Two rows of eight 16-px tiles, doubled: (8 × 18 + 2) × 2 wide, (2 × 18 + 2) × 2 high.
            using var png = SkiaSharp.SKBitmap.Decode(pairs);
            Assert.AreEqual((292, 76), (png.Width, png.Height));
        }
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
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", folder.Path);  // keep the test's cache out of the user's
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
            Assert.AreEqual(1, Directory.GetFiles(Path.Combine(folder.Path, "mlnet-diffusion"), "features-*").Length, "the cache follows XDG_CACHE_HOME");
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", cacheHome);
        }
    }

    [TestMethod]
    public void Docs_ExampleOwnImages()
    {
        using var folder = new TempFolder();
        var modelPath = folder.File("icons.zip");
        var imageFolder = Path.Combine(folder.Path, "icons");
        var pairsPath = folder.File("closest-pairs.png");
        Directory.CreateDirectory(imageFolder);
        var (test, _) = FashionMnist.LoadTest(12);
        using (test)
        {
            foreach (var (image, i) in ImageGrid.ToImages(test).Select((image, i) => (image, i)))
            {
                ImageCodec.SavePng(image, Path.Combine(imageFolder, $"{i:D2}.png"));
            }
        }

        using (var trained = TrainTiny(16, null))
        {
            trained.Save(modelPath);
        }

        var count = 8;
        var cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", folder.Path);  // keep the test's cache out of the user's
        try
        {
            // docs: evaluate own images
            using var model = DiffusionModel.Load(modelPath, "cpu");
            var result = DiffusionEvaluator.Evaluate(model, new EvaluationOptions
            {
                Count = count,                                      // 1,024 or more for FID
                Reference = EvaluationData.FromFolder(imageFolder), // resized to the model's size as train resizes
                Features = EvaluationFeatures.ResNet18,             // needs the MLNet.Diffusion.Evaluation package
                ClosestPairsPath = pairsPath,                       // the 8 images closest to copying a training image
            });
            Console.WriteLine($"KID {result.Kid!.Mean:F4} ± {result.Kid.StandardDeviation:F4} (floor {result.RealDataKid?.Mean:F4}), " +
                $"precision {result.PrecisionRecall?.Precision:P0}, recall {result.PrecisionRecall?.Recall:P0}, " +
                $"near-copies {result.Memorization?.ShareBelowThreshold:P1}");
            // end
            Assert.AreEqual(12, result.ReferenceCount);
            Assert.IsTrue(File.Exists(pairsPath));
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
