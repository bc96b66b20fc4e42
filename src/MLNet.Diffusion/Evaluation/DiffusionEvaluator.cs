using MLNet.Diffusion.Engine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Metrics;

namespace MLNet.Diffusion.Evaluation;

/// <summary>
/// Measures a Fashion-MNIST model (28×28, one channel): the FID of generated images against the test set, through
/// the project's own <see cref="FeatureNetwork"/>; the classes the network's classifier sees in them (and, for a
/// class-conditional model, how often each label yields its class); the same FID for real training images as the
/// floor at this count; and optionally the variational bound in bits/dim. docs/evaluation.md states the protocol.
/// </summary>
public static class DiffusionEvaluator
{
    /// <summary>Evaluates <paramref name="model"/> as <paramref name="options"/> say.</summary>
    /// <param name="model">A model of 28×28 grayscale images.</param>
    /// <param name="options">What to measure (defaults when null).</param>
    /// <param name="progress">Receives a line at each stage and about every tenth of the generation.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <exception cref="ArgumentException">The model's images are not 28×28×1, or an option is out of range.</exception>
    public static EvaluationResult Evaluate(DiffusionModel model, EvaluationOptions? options = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = (options ?? new EvaluationOptions()).Validated();
        var config = model.Config;
        if (config.ImageSize != FeatureNetwork.ImageSize || config.InChannels != 1)
        {
            throw new ArgumentException(
                $"FID here uses a feature network trained on Fashion-MNIST, so it takes 28×28 grayscale images; this model makes {config.InChannels}×{config.ImageSize}×{config.ImageSize}.",
                nameof(model));
        }

        var clock = Stopwatch.StartNew();
        var device = options.Generation.Device is { } name ? Devices.Parse(name) : model.Network.parameters().First().device;
        device.EnsureAvailable();
        using var network = FeatureNetwork.LoadPretrained(device);
        progress?.Report("reference statistics of the Fashion-MNIST test set");
        var reference = ReferenceStatistics.Load(network, FeatureNetwork.PretrainedSha256, options.CacheDirectory, options.DataDirectory, options.BatchSize);

        var classes = config.NumClasses;
        var (generatedFeatures, predicted) = Generate(model, network, options, device, progress, cancellationToken);
        using var features = generatedFeatures;
        var fid = FrechetDistance.Compute(FeatureStatistics.FromFeatures(features), reference);

        // KID against the test set's features (recomputed: the cache holds only FID's statistics), subsets of min(1,000, N).
        progress?.Report("KID against the Fashion-MNIST test set");
        KidEstimate kid;
        var (test, testLabels) = FashionMnist.LoadTest(directory: options.DataDirectory);
        using (test)
        using (testLabels)
        using (var testFeatures = ReferenceStatistics.Features(network, test, options.BatchSize))
        {
            kid = KernelInceptionDistance.Compute(features, testFeatures);
        }

        var histogram = new int[FeatureNetwork.ClassCount];
        foreach (var p in predicted)
        {
            histogram[p]++;
        }

        double[]? accuracy = null;
        if (classes == FeatureNetwork.ClassCount)
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

        double? floor = null;
        KidEstimate? kidFloor = null;
        if (options.ComputeRealDataFloor)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(string.Create(CultureInfo.InvariantCulture, $"real-data floor: the first {options.Count} training images"));
            var (images, labels) = FashionMnist.LoadTrain(options.Count, options.DataDirectory);
            using (images)
            using (labels)
            using (var real = ReferenceStatistics.Features(network, images, options.BatchSize))
            {
                floor = FrechetDistance.Compute(FeatureStatistics.FromFeatures(real), reference);
                // KID's floor: between the two disjoint halves of those images, N/2 each.
                var half = options.Count / 2;
                if (half >= 2)
                {
                    using var first = real.narrow(0, 0, half);
                    using var second = real.narrow(0, half, half);
                    kidFloor = KernelInceptionDistance.Compute(first, second);
                }
            }
        }

        var bound = options.BitsPerDimCount > 0 ? BitsPerDim(model, options, device, progress, cancellationToken) : null;
        return new EvaluationResult(fid, options.Count, options.Generation, floor, histogram, accuracy, bound, options.BitsPerDimCount,
            FeatureNetwork.PretrainedSha256, clock.Elapsed)
        {
            Kid = kid,
            RealDataKid = kidFloor,
        };
    }

    private static (Tensor Features, long[] Predicted) Generate(DiffusionModel model, FeatureNetwork network, EvaluationOptions options,
        Device device, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
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
            var images = model.Generate(length, generation);
            var batchFeatures = network.Features(images.to(device));
            predicted.AddRange(network.Classify(batchFeatures).argmax(1).to(torch.CPU).data<long>().ToArray());
            features.Add(step.MoveToOuter(batchFeatures.to(torch.CPU)));
            var batches = (options.Count + options.BatchSize - 1) / options.BatchSize;
            var batch = (start / options.BatchSize) + 1;
            if (batch % Math.Max(1, batches / 10) == 0 || batch == batches)
            {
                progress?.Report(string.Create(CultureInfo.InvariantCulture, $"generated {start + length}/{options.Count}"));
            }
        }

        return (scope.MoveToOuter(torch.cat(features)), predicted.ToArray());
    }

    private static VariationalBoundTerms BitsPerDim(DiffusionModel model, EvaluationOptions options, Device device, IProgress<string>? progress,
        CancellationToken cancellationToken)
    {
        var (images, labels) = FashionMnist.LoadTest(options.BitsPerDimCount, options.DataDirectory);
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
