using System.CommandLine;
using MLNet.Diffusion.Evaluation;
using MLNet.Diffusion.Metrics;
using MLNet.Diffusion.Training;
using Spectre.Console;
using MLNet.Diffusion.Datasets;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary>
/// <c>mlnet-diffusion eval</c>: KID, FID, precision/recall (each beside its real-data floor) and memorization of a model against
/// real images (Fashion-MNIST or the user's own), with the Fashion-MNIST network's or ResNet-18's features; class accuracy
/// and bits/dim for Fashion-MNIST models.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip, or a training checkpoint (its moving-average weights).", Required = true };
        var count = new Option<int>("--count") { Description = "Images to generate (KID is unbiased at any count; FID needs 1024 or more; the Fashion-MNIST protocol uses 10000).", Required = true };
        var data = new Option<string?>("--data") { Description = "The real images: fashion-mnist (its test set as the reference, its training set for memorization), a folder of PNG/JPEG images or an IDX file (both roles). Default fashion-mnist for a 28×28 grayscale model." };
        var reference = new Option<string?>("--reference") { Description = "Measure KID/FID/precision/recall against these images instead of --data (a folder, an IDX file or fashion-mnist)." };
        var trainData = new Option<string?>("--train-data") { Description = "Look for memorized images in these instead of --data (a folder, an IDX file or fashion-mnist's training set)." };
        var features = new Option<string>("--features") { Description = "auto, resnet18 or fashion-mnist (auto: fashion-mnist for a 28×28 grayscale model against Fashion-MNIST, else resnet18).", DefaultValueFactory = _ => "auto" };
        features.AcceptOnlyFromAmong("auto", "resnet18", "fashion-mnist");
        var pairs = new Option<string?>("--pairs") { Description = "Write a PNG of the 8 generated images closest to a training image (top row) above those training images." };
        var sampler = SamplerOption("dpm-solver++, ddim, ddpm, heun or euler.");
        var steps = StepsOption("Sampling steps (default: 20 for dpm-solver++ and euler, 50 for ddim, all for ddpm, 10 for heun, which evaluates the network 2 × steps − 1 times).");
        var eta = new Option<double>("--eta") { Description = "DDIM's η (--sampler ddim only).", DefaultValueFactory = _ => 0 };
        var churn = ChurnOption();
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale (class-conditional models).", DefaultValueFactory = _ => 1 };
        var seed = new Option<ulong>("--seed") { Description = "Image i uses seed + i.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Images per generation batch.", DefaultValueFactory = _ => 100 };
        var bitsPerDim = new Option<int>("--bits-per-dim-count") { Description = "Also estimate bits/dim on the first N test images (0: no; each batch costs one network pass per training timestep).", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda[:N].", DefaultValueFactory = _ => "auto" };
        var json = new Option<string?>("--json") { Description = "Also write the results to this JSON file." };
        var cache = new Option<string?>("--cache-dir") { Description = "Where the reference images' features are cached (default ~/.cache/mlnet-diffusion)." };
        var command = new Command("eval", "Measure a model against real images: KID, FID, precision/recall beside their real-data floors, memorization; class coverage and bits/dim for Fashion-MNIST models.")
        {
            modelPath, count, data, reference, trainData, features, pairs, sampler, steps, eta, churn, guidance, seed, batch, bitsPerDim, device, json, cache,
        };
        command.SetAction(p =>
        {
            Check(p.GetValue(count) >= 2, $"--count must be ≥ 2 (a covariance needs two images), not {p.GetValue(count)}");
            var fashionReference = IsFashionMnist(p.GetValue(reference) ?? p.GetValue(data) ?? "fashion-mnist");
            Check(!fashionReference || p.GetValue(count) <= 60_000, $"--count must be ≤ 60000 (the real-data floor uses that many Fashion-MNIST training images), not {p.GetValue(count)}");
            Check(p.GetValue(batch) >= 1, $"--batch-size must be ≥ 1, not {p.GetValue(batch)}");
            CheckSteps(p, steps);
            CheckDevice(p, device);
            Check(p.GetValue(bitsPerDim) is >= 0 and <= 10_000, $"--bits-per-dim-count must be in [0, 10000] (the test set), not {p.GetValue(bitsPerDim)}");
            CheckGuidanceEtaAndChurn(p, sampler, eta, churn, guidance);

            // The model file is read (and checked) before the outputs are prepared, so a file that is not a model writes nothing.
            var path = p.GetRequiredValue(modelPath);
            using var model = LoadModel(path, p.GetRequiredValue(device), output);
            CheckGuidanceApplies(p, guidance, model, path, "image i is generated as class i mod 10");
            var realData = ReadData(p.GetValue(data), "--data", training: false);
            var referenceData = ReadData(p.GetValue(reference), "--reference", training: false) ?? realData;
            var trainingData = ReadData(p.GetValue(trainData), "--train-data", training: true)
                ?? (p.GetValue(data) is { } d && IsFashionMnist(d) ? EvaluationData.FashionMnistTrain() : realData);
            var config = model.Config;
            var grayscale28 = config.ImageSize == FeatureNetwork.ImageSize && config.InChannels == 1;
            Check(referenceData is not null || grayscale28,
                $"--data: '{path}' makes {config.InChannels}×{config.ImageSize}×{config.ImageSize} images; give the real images to measure them against (--data <folder>)");
            var featureKind = p.GetRequiredValue(features) switch
            {
                "resnet18" => EvaluationFeatures.ResNet18,
                "fashion-mnist" => EvaluationFeatures.FashionMnist,
                _ => EvaluationFeatures.Auto,
            };
            Check(featureKind != EvaluationFeatures.FashionMnist || grayscale28,
                $"--features fashion-mnist takes 28×28 grayscale images; '{path}' makes {config.InChannels}×{config.ImageSize}×{config.ImageSize} (use --features resnet18)");
            Check(p.GetValue(bitsPerDim) == 0 || grayscale28,
                $"--bits-per-dim-count: bits/dim is estimated on Fashion-MNIST's test images (28×28 grayscale); '{path}' makes {config.InChannels}×{config.ImageSize}×{config.ImageSize}");
            Check(p.GetValue(bitsPerDim) == 0 || fashionReference,
                "--bits-per-dim-count: bits/dim is estimated on Fashion-MNIST's test images, not on --data or --reference; leave it out, or measure against fashion-mnist");
            if (p.GetValue(json) is { } jsonOutput)
            {
                PrepareOutput("--json", jsonOutput, folder: false);
            }

            if (p.GetValue(pairs) is { } pairsOutput)
            {
                PrepareOutput("--pairs", pairsOutput, folder: false);
            }

            if (p.GetValue(cache) is { } cacheDirectory)
            {
                PrepareOutput("--cache-dir", cacheDirectory, folder: true);
            }
            var options = new EvaluationOptions
            {
                Count = p.GetValue(count),
                BatchSize = p.GetValue(batch),
                BitsPerDimCount = p.GetValue(bitsPerDim),
                CacheDirectory = p.GetValue(cache),
                Reference = referenceData,
                TrainingData = trainingData,
                Features = featureKind,
                ClosestPairsPath = p.GetValue(pairs),
                Generation = new GenerationOptions
                {
                    Sampler = ParseSampler(p.GetRequiredValue(sampler)),
                    Steps = p.GetValue(steps),
                    Eta = p.GetValue(eta),
                    Churn = p.GetValue(churn),
                    Guidance = p.GetValue(guidance),
                    Seed = p.GetValue(seed),
                },
            };
            var result = DiffusionEvaluator.Evaluate(model, options, new SynchronousProgress<string>(line => output.WriteLine($"  {line}")));
            WriteSummary(output, path, model, result);
            if (p.GetValue(pairs) is { } pairsPath)
            {
                output.WriteLine($"wrote {pairsPath}");
            }

            if (p.GetValue(json) is { } jsonPath)
            {
                result.Save(jsonPath);
                output.WriteLine($"wrote {jsonPath}");
            }

            return 0;
        });
        return command;
    }

    // KID with its spread over subsets; when every subset was the whole of both sets (up to 1,000 images) there is no spread to show.
    private static string Kid(KidEstimate kid) => kid.HasSpread
        ? string.Create(Invariant, $"{kid.Mean:F5} ± {kid.StandardDeviation:F5} ({kid.Subsets} subsets of {kid.SubsetSize})")
        : string.Create(Invariant, $"{kid.Mean:F5} (all {kid.SubsetSize} images of each set; no spread over subsets)");

    private static bool IsFashionMnist(string value) => string.Equals(value, "fashion-mnist", StringComparison.OrdinalIgnoreCase);

    private static EvaluationData? ReadData(string? value, string option, bool training)
    {
        if (value is null)
        {
            return null;
        }

        Check(IsFashionMnist(value) || Directory.Exists(value) || File.Exists(value),
            $"{option}: '{value}' is neither fashion-mnist nor an existing image folder or IDX file");
        return EvaluationData.Parse(value, training);
    }

    private static void WriteSummary(TextWriter output, string path, DiffusionModel model, EvaluationResult result)
    {
        var g = result.Generation;
        output.WriteLine($"model:          {path} ({model.Config})");
        output.WriteLine(string.Create(Invariant, $"generated:      {result.Count} images, {g.Sampler} {(g.Steps is { } n ? $"{n} steps" : "default steps")}, η {g.Eta}, {(g.Churn != 0 ? $"churn {g.Churn}, " : string.Empty)}guidance {g.Guidance}, seeds {g.Seed}..{g.Seed + (ulong)result.Count - 1}"));
        output.WriteLine($"features:       {result.FeatureNetwork}; weights SHA-256 {result.FeatureNetworkSha256[..16]}…");
        output.WriteLine(string.Create(Invariant, $"reference:      {result.Reference}, {result.ReferenceCount:N0} images"));
        output.WriteLine(double.IsNaN(result.Fid)
            ? string.Create(Invariant, $"FID:            n/a, N too small (FID needs {DiffusionEvaluator.MinimumFidCount} or more generated and reference images; read KID)")
            : string.Create(Invariant, $"FID:            {result.Fid:F3}{(result.RealDataFid is { } floor ? $"   (real-data floor: {floor:F3})" : string.Empty)}"));
        if (result.Kid is { } kid)
        {
            var floorText = result.RealDataKid is { } floorKid
                ? string.Create(Invariant, $"   (real-data floor: {Kid(floorKid)})")
                : string.Empty;
            output.WriteLine(string.Create(Invariant, $"KID:            {Kid(kid)}") + floorText);
        }

        if (result.PrecisionRecall is { } pr)
        {
            var floorText = result.RealDataPrecisionRecall is { } f ? string.Create(Invariant, $"   (real-data floor: {f.Precision:F3} / {f.Recall:F3})") : string.Empty;
            output.WriteLine(string.Create(Invariant, $"precision/recall: {pr.Precision:F3} / {pr.Recall:F3} (k = {pr.Neighbours}, {pr.RealCount} real vs {pr.GeneratedCount} generated)") + floorText);
        }

        if (result.FloorDescription is { } floorDescription)
        {
            output.WriteLine($"floors:         {floorDescription}");
        }

        if (result.Memorization is { } m)
        {
            var ordered = m.Ratios.Order().ToArray();
            output.WriteLine(string.Create(Invariant,
                $"memorization:   {m.ShareBelowThreshold:P1} of the generated images have a nearest-neighbour ratio below {m.Threshold:F2} (median {ordered[ordered.Length / 2]:F3}, lowest {ordered[0]:F3}) against the {result.TrainingData}"));
            output.WriteLine("  ratio histogram, 0 to 1 in steps of 0.05: " + string.Join(" ", m.Histogram));
        }

        if (result.ClassHistogram.Count > 0)
        {
            output.WriteLine("classes seen:   " + string.Join(", ", result.ClassHistogram.Select((n, c) => string.Create(Invariant, $"{FashionMnist.ClassNames[c]} {n}"))));
            output.WriteLine("  in the reference: " + string.Join(", ", result.ReferenceClassHistogram.Select((n, c) => string.Create(Invariant, $"{FashionMnist.ClassNames[c]} {n}"))));
            output.WriteLine(string.Create(Invariant, $"class mix:      total-variation distance {result.ClassHistogramTotalVariation:F3} from the reference's (0 = the same mix; ") +
                (result.ClassAccuracy is null
                    ? string.Create(Invariant, $"a perfect class mix scores about {result.ClassHistogramTotalVariationFloor:F3} at these counts)")
                    : "the labels asked for, i mod classes, set this model's mix)"));
        }

        if (result.ClassAccuracy is { } accuracy)
        {
            output.WriteLine("per-class hit:  " + string.Join(", ", accuracy.Select((a, c) => string.Create(Invariant, $"{FashionMnist.ClassNames[c]} {a:P0}"))) +
                string.Create(Invariant, $"; mean {result.MeanClassAccuracy:P1}"));
        }

        if (result.BitsPerDim is { } bound)
        {
            output.WriteLine(string.Create(Invariant, $"bits/dim:       {bound.Total:F4} on {result.BitsPerDimCount} test images (prior {bound.Prior:F4}, diffusion {bound.Diffusion:F4}, decoder {bound.Decoder:F4})"));
        }

        output.WriteLine(string.Create(Invariant, $"took {result.Elapsed:hh\\:mm\\:ss}"));
    }
}
