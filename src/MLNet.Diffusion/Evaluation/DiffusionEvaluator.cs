using MLNet.Diffusion.Engine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Metrics;

namespace MLNet.Diffusion.Evaluation;

/// <summary>
/// Measures a model against real images: KID, FID (at ≥ <see cref="MinimumFidCount"/> images), improved precision/recall,
/// each beside its real-data floor, and memorization against the training images. Features come from the Fashion-MNIST
/// network (28×28 grayscale models; it also classifies the images, giving the class histogram and, for a class-conditional
/// model, how often each label yields its class) or from ImageNet's ResNet-18 (any model; the MLNet.Diffusion.Evaluation
/// package). Optionally the variational bound in bits/dim on Fashion-MNIST's test set. docs/evaluation.md states the protocol.
/// </summary>
public static class DiffusionEvaluator
{
    /// <summary>FID is reported only when the generated and the reference images are at least this many (else NaN).</summary>
    public const int MinimumFidCount = 1024;

    /// <summary>Evaluates <paramref name="model"/> as <paramref name="options"/> say.</summary>
    /// <param name="model">The model to measure.</param>
    /// <param name="options">What to measure and against which images (defaults when null: Fashion-MNIST's test set).</param>
    /// <param name="progress">Receives a line at each stage and about every tenth of the generation.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the feature network or data do not fit the model.</exception>
    /// <exception cref="InvalidOperationException">ResNet-18 features were asked for and the MLNet.Diffusion.Evaluation package is missing.</exception>
    public static EvaluationResult Evaluate(DiffusionModel model, EvaluationOptions? options = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = (options ?? new EvaluationOptions()).Validated();
        var config = model.Config;
        var grayscale28 = config.ImageSize == FeatureNetwork.ImageSize && config.InChannels == 1;
        if (options.Reference is null && !grayscale28)
        {
            throw new ArgumentException(
                $"Without a reference the evaluator measures against Fashion-MNIST's test set, which is 28×28 grayscale; this model makes " +
                $"{config.InChannels}×{config.ImageSize}×{config.ImageSize}. Set {nameof(EvaluationOptions.Reference)} to the real images to measure it against " +
                $"(such as EvaluationData.FromFolder(...) of its training folder).",
                nameof(options));
        }

        var reference = options.Reference ?? EvaluationData.FashionMnistTest(options.DataDirectory);
        var fashionReference = reference.Kind is EvaluationData.DataKind.FashionMnistTest or EvaluationData.DataKind.FashionMnistTrain;
        var kind = options.FeatureExtractor is not null ? EvaluationFeatures.ResNet18
            : FeatureExtractors.Resolve(options.Features, config.ImageSize, config.InChannels, fashionReference);

        if (options.BitsPerDimCount > 0 && !fashionReference)
        {
            throw new ArgumentException(
                $"Bits/dim is estimated on Fashion-MNIST's test images, not on the {reference.Description}: set {nameof(EvaluationOptions.BitsPerDimCount)} to 0, or measure against Fashion-MNIST.",
                nameof(options));
        }

        if (options.BitsPerDimCount > 0 && !grayscale28)
        {
            throw new ArgumentException(
                $"Bits/dim is estimated on Fashion-MNIST's test images (28×28 grayscale); this model makes {config.InChannels}×{config.ImageSize}×{config.ImageSize}.",
                nameof(options));
        }

        var clock = Stopwatch.StartNew();
        var device = options.Generation.Device is { } name ? Devices.Parse(name) : model.Network.parameters().First().device;
        device.EnsureAvailable();
        var owned = options.FeatureExtractor is null ? FeatureExtractors.Create(kind, device) : null;
        try
        {
            var extractor = options.FeatureExtractor ?? owned!;
            return Measure(model, options, reference, extractor, device, clock, progress, cancellationToken);
        }
        finally
        {
            owned?.Dispose();
        }
    }

    private static EvaluationResult Measure(DiffusionModel model, EvaluationOptions options, EvaluationData reference, IImageFeatureExtractor extractor,
        Device device, Stopwatch clock, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        var (size, channels) = (model.Config.ImageSize, model.Config.InChannels);
        var classifier = extractor as FeatureNetwork;
        progress?.Report($"features: {extractor.Name}");
        progress?.Report($"reference: {reference.Description}");
        var resizing = model.Preprocessing.Resizing ?? ImageResizeMode.IsoCrop;
        var fashionDirectory = reference.FashionMnistDirectory ?? options.DataDirectory;
        var referenceImages = reference.Load(size, channels, resizing);
        var referenceCount = (int)referenceImages.size(0);
        var referenceFeatures = ReferenceStatistics.CachedFeatures(extractor, referenceImages, reference.Description, options.CacheDirectory, options.BatchSize, progress);

        var (images, features, predicted) = Generate(model, extractor, classifier, options, progress, cancellationToken);
        var count = options.Count;
        // The reference's side of FID and precision/recall, shared with the floor: its statistics, and as many of its vectors
        // (a fixed random subset) as there are generated ones.
        var referenceStatistics = count >= MinimumFidCount && referenceCount >= MinimumFidCount ? FeatureStatistics.FromFeatures(referenceFeatures) : null;
        var matched = Math.Min(count, referenceCount);
        var referenceSubset = Subset(referenceFeatures, matched);
        var fid = Fid(features, referenceStatistics) ?? double.NaN;
        progress?.Report("KID and precision/recall");
        var kid = KernelInceptionDistance.Compute(features, referenceFeatures);
        var precisionRecall = PrecisionRecallOf(referenceSubset, features.narrow(0, 0, matched));

        var classCount = classifier is null ? 0 : FeatureNetwork.ClassCount;
        var histogram = Histogram(predicted, classCount);
        var referenceHistogram = Histogram(classifier is null ? [] : PredictedClasses(classifier, referenceFeatures), classCount);

        double[]? accuracy = null;
        if (classifier is not null && model.Config.NumClasses == FeatureNetwork.ClassCount)
        {
            // Image i was generated with label i mod 10.
            var hits = new int[FeatureNetwork.ClassCount];
            var totals = new int[FeatureNetwork.ClassCount];
            for (var i = 0; i < predicted.Length; i++)
            {
                totals[i % FeatureNetwork.ClassCount]++;
                hits[i % FeatureNetwork.ClassCount] += predicted[i] == i % FeatureNetwork.ClassCount ? 1 : 0;
            }

            accuracy = [.. hits.Select((h, c) => totals[c] == 0 ? double.NaN : (double)h / totals[c])];
        }

        var floor = options.ComputeRealDataFloor
            ? Floor(reference, referenceFeatures, referenceStatistics, referenceSubset, extractor, options, fashionDirectory, size, channels, resizing, progress, cancellationToken)
            : null;

        MemorizationResult? memorization = null;
        string? trainingDescription = null;
        if (options.ComputeMemorization)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var training = options.TrainingData ?? (reference.Kind == EvaluationData.DataKind.FashionMnistTest
                ? EvaluationData.FashionMnistTrain(fashionDirectory) : reference);
            progress?.Report($"memorization: nearest neighbours in the {training.Description}");
            var trainingImages = training == reference ? referenceImages : training.Load(size, channels, resizing);
            memorization = Memorization.Compute(images, trainingImages);
            trainingDescription = string.Create(CultureInfo.InvariantCulture, $"{training.Description}: {trainingImages.size(0):N0} images");
            if (options.ClosestPairsPath is { } path)
            {
                SaveClosestPairs(path, memorization, images, trainingImages);
            }
        }

        var bound = options.BitsPerDimCount > 0 ? BitsPerDim(model, options, fashionDirectory, device, cancellationToken, progress) : null;
        return new EvaluationResult(fid, count, options.Generation, floor?.Fid, histogram, accuracy, bound, options.BitsPerDimCount,
            extractor.WeightsSha256, clock.Elapsed)
        {
            Kid = kid,
            RealDataKid = floor?.Kid,
            PrecisionRecall = precisionRecall,
            RealDataPrecisionRecall = floor?.PrecisionRecall,
            FloorDescription = floor?.Description,
            Memorization = memorization,
            TrainingData = trainingDescription,
            Reference = reference.Description,
            ReferenceCount = referenceCount,
            ReferenceClassHistogram = referenceHistogram,
            FeatureNetwork = extractor.Name,
        };
    }

    private sealed record FloorResult(double? Fid, KidEstimate? Kid, PrecisionRecallEstimate? PrecisionRecall, string Description);

    // The same metrics between real images only: what a model that draws exactly from the data would score at this count.
    private static FloorResult? Floor(EvaluationData reference, Tensor referenceFeatures, FeatureStatistics? referenceStatistics, Tensor referenceSubset,
        IImageFeatureExtractor extractor, EvaluationOptions options, string? fashionDirectory, int size, int channels, ImageResizeMode resizing,
        IProgress<string>? progress, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var count = options.Count;
        if (reference.Kind == EvaluationData.DataKind.FashionMnistTest)
        {
            // A separate real set exists: the first N training images, measured against the test set as the generated ones are.
            progress?.Report(string.Create(CultureInfo.InvariantCulture, $"real-data floor: the first {count} training images"));
            var (train, labels) = FashionMnist.LoadTrain(count, fashionDirectory);
            labels.Dispose();
            var images = EvaluationData.FromImages(train, "Fashion-MNIST training images").Load(size, channels, resizing);
            var real = ReferenceStatistics.Features(extractor, images, options.BatchSize);
            var half = count / 2;
            var kid = half >= 2 ? KernelInceptionDistance.Compute(real.narrow(0, 0, half), real.narrow(0, half, half)) : null;
            var pr = PrecisionRecallOf(referenceSubset, real.narrow(0, 0, referenceSubset.size(0)));
            return new FloorResult(Fid(real, referenceStatistics), kid, pr, string.Create(CultureInfo.InvariantCulture,
                $"the first {count} Fashion-MNIST training images: FID and precision/recall against the reference, KID between their two halves of {half}"));
        }

        // Only one real set: two disjoint halves of it (a fixed shuffle), N/2 each where the reference allows.
        var halfSize = (int)(Math.Min(count, referenceFeatures.size(0)) / 2);
        if (halfSize < 2)
        {
            return null;
        }

        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"real-data floor: two halves of {halfSize} reference images"));
        var shuffled = Subset(referenceFeatures, 2 * halfSize);
        var (first, second) = (shuffled.narrow(0, 0, halfSize), shuffled.narrow(0, halfSize, halfSize));
        return new FloorResult(
            Fid(first, halfSize >= MinimumFidCount ? FeatureStatistics.FromFeatures(second) : null),
            KernelInceptionDistance.Compute(first, second),
            PrecisionRecallOf(first, second),
            string.Create(CultureInfo.InvariantCulture, $"two disjoint halves of {halfSize} images of the {reference.Description}"));
    }

    // FID of `features` against the real side's statistics: only when both have at least MinimumFidCount rows (null otherwise,
    // the real side's statistics being null below it).
    private static double? Fid(Tensor features, FeatureStatistics? real) =>
        real is not null && features.size(0) >= MinimumFidCount ? FrechetDistance.Compute(FeatureStatistics.FromFeatures(features), real) : null;

    // Precision and recall of `generated` against `real` (equal counts), null when the sets are too small for k = 3.
    private static PrecisionRecallEstimate? PrecisionRecallOf(Tensor real, Tensor generated) =>
        real.size(0) > PrecisionRecall.DefaultNeighbours ? PrecisionRecall.Compute(real, generated) : null;

    // `count` rows of `features` in a fixed random order (seed 0): a subset that does not depend on how a folder is sorted.
    private static Tensor Subset(Tensor features, int count)
    {
        using var generator = new Generator(0, torch.CPU);
        return features.index_select(0, torch.randperm(features.size(0), generator: generator).narrow(0, 0, count));
    }

    // The classifier's class for each feature row (argmax of its logits), on the CPU.
    private static long[] PredictedClasses(FeatureNetwork classifier, Tensor features)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return classifier.Classify(features.to(classifier.parameters().First().device)).argmax(1).to(torch.CPU).data<long>().ToArray();
    }

    // How often each of classCount classes occurs (classCount 0, without a classifier: an empty histogram).
    private static int[] Histogram(IEnumerable<long> classes, int classCount)
    {
        var histogram = new int[classCount];
        foreach (var c in classes)
        {
            histogram[c]++;
        }

        return histogram;
    }

    private static (Tensor Images, Tensor Features, long[] Predicted) Generate(DiffusionModel model, IImageFeatureExtractor extractor,
        FeatureNetwork? classifier, EvaluationOptions options, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        var images = new List<Tensor>();
        var features = new List<Tensor>();
        var predicted = new List<long>();
        var classes = model.Config.NumClasses;
        for (var start = 0; start < options.Count; start += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var length = Math.Min(options.BatchSize, options.Count - start);
            var generation = options.Generation with
            {
                Seed = options.Generation.Seed + (ulong)start,  // image i keeps seed Seed + i whatever the batch size
                Labels = classes is { } k ? [.. Enumerable.Range(start, length).Select(i => i % k)] : null,
            };
            var batch = model.Generate(length, generation).to(torch.CPU);
            var batchFeatures = extractor.Extract(batch);
            if (classifier is not null)
            {
                predicted.AddRange(PredictedClasses(classifier, batchFeatures));
            }

            images.Add(step.MoveToOuter(batch));
            features.Add(step.MoveToOuter(batchFeatures));
            var batches = (options.Count + options.BatchSize - 1) / options.BatchSize;
            var index = (start / options.BatchSize) + 1;
            if (index % Math.Max(1, batches / 10) == 0 || index == batches)
            {
                progress?.Report(string.Create(CultureInfo.InvariantCulture, $"generated {start + length}/{options.Count}"));
            }
        }

        return (scope.MoveToOuter(torch.cat(images)), scope.MoveToOuter(torch.cat(features)), predicted.ToArray());
    }

    // Two rows of eight: the generated images closest to copying, above their nearest training images.
    private static void SaveClosestPairs(string path, MemorizationResult memorization, Tensor generated, Tensor training)
    {
        using var scope = torch.NewDisposeScope();
        var closest = memorization.Closest(8);
        var top = generated.index_select(0, torch.tensor(closest.Select(i => (long)i).ToArray()));
        var bottom = training.index_select(0, torch.tensor(closest.Select(i => (long)memorization.NearestTrainingImage[i]).ToArray()));
        var grid = ImageGrid.Compose(ImageGrid.ToImages(torch.cat([top, bottom])), columns: closest.Count);
        ImageCodec.SavePng(ImageGrid.Upscale(grid, ImageGrid.DefaultScale((int)generated.size(2))), path);
    }

    private static VariationalBoundTerms BitsPerDim(DiffusionModel model, EvaluationOptions options, string? directory, Device device,
        CancellationToken cancellationToken, IProgress<string>? progress)
    {
        var (images, labels) = FashionMnist.LoadTest(options.BitsPerDimCount, directory);
        using (images)
        using (labels)
        using (var generator = new Generator(options.Generation.Seed, device))
        {
            model.Network.to(device);
            double prior = 0, diffusion = 0, decoder = 0;
            var count = options.BitsPerDimCount;
            for (var start = 0; start < count; start += options.BatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var length = Math.Min(options.BatchSize, count - start);
                // A class-conditional model is scored with the true labels: the bound on −log p(x | y).
                var conditioning = model.Config.NumClasses is null ? null : labels.narrow(0, start, length).to(device);
                var terms = VariationalBound.BitsPerDim(model.Schedule, UNetDenoiser.Create(model.Network, conditioning), model.PredictionType,
                    images.narrow(0, start, length).to(device), generator, cancellationToken: cancellationToken);
                prior += terms.Prior * length;
                diffusion += terms.Diffusion * length;
                decoder += terms.Decoder * length;
                progress?.Report(string.Create(CultureInfo.InvariantCulture, $"bits/dim: {start + length}/{count} test images"));
            }

            return new VariationalBoundTerms(prior / count, diffusion / count, decoder / count);
        }
    }
}
