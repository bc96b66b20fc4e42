using System.CommandLine;
using MLNet.Diffusion.Evaluation;
using MLNet.Diffusion.Training;
using Spectre.Console;
using MLNet.Diffusion.Datasets;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary><c>mlnet-diffusion eval</c>: FID, class accuracy and bits/dim of a Fashion-MNIST model.</summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip, or a training checkpoint (its moving-average weights), of 28×28 grayscale images (the feature network is Fashion-MNIST's).", Required = true };
        var count = new Option<int>("--count") { Description = "Images to generate (FID is biased upward for small counts; the protocol uses 10000).", Required = true };
        var sampler = SamplerOption("dpm-solver++, ddim or ddpm.");
        var steps = StepsOption("Sampling steps (default: 20 for dpm-solver++, 50 for ddim, all for ddpm).");
        var eta = new Option<double>("--eta") { Description = "DDIM's η (--sampler ddim only).", DefaultValueFactory = _ => 0 };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale (class-conditional models).", DefaultValueFactory = _ => 1 };
        var seed = new Option<ulong>("--seed") { Description = "Image i uses seed + i.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Images per generation batch.", DefaultValueFactory = _ => 100 };
        var bitsPerDim = new Option<int>("--bits-per-dim-count") { Description = "Also estimate bits/dim on the first N test images (0: no; each batch costs one network pass per training timestep).", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda[:N].", DefaultValueFactory = _ => "auto" };
        var json = new Option<string?>("--json") { Description = "Also write the results to this JSON file." };
        var cache = new Option<string?>("--cache-dir") { Description = "Where the reference statistics are cached (default ~/.cache/mlnet-diffusion)." };
        var command = new Command("eval", "Measure a Fashion-MNIST model: FID against the test set, class coverage, optionally bits/dim.")
        {
            modelPath, count, sampler, steps, eta, guidance, seed, batch, bitsPerDim, device, json, cache,
        };
        command.SetAction(p =>
        {
            Check(p.GetValue(count) >= 2, $"--count must be ≥ 2 (a covariance needs two images), not {p.GetValue(count)}");
            Check(p.GetValue(count) <= 60_000, $"--count must be ≤ 60000 (the real-data floor uses that many Fashion-MNIST training images), not {p.GetValue(count)}");
            Check(p.GetValue(batch) >= 1, $"--batch-size must be ≥ 1, not {p.GetValue(batch)}");
            CheckSteps(p, steps);
            CheckDevice(p, device);
            Check(p.GetValue(bitsPerDim) is >= 0 and <= 10_000, $"--bits-per-dim-count must be in [0, 10000] (the test set), not {p.GetValue(bitsPerDim)}");
            CheckGuidanceAndEta(p, sampler, eta, guidance);

            // The model file is read (and checked) before the outputs are prepared, so a file that is not a model writes nothing.
            var path = p.GetRequiredValue(modelPath);
            using var model = LoadModel(path, p.GetRequiredValue(device), output);
            CheckGuidanceApplies(p, guidance, model, path, "image i is generated as class i mod 10");
            if (p.GetValue(json) is { } jsonOutput)
            {
                PrepareOutput("--json", jsonOutput, folder: false);
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
                Generation = new GenerationOptions
                {
                    Sampler = ParseSampler(p.GetRequiredValue(sampler)),
                    Steps = p.GetValue(steps),
                    Eta = p.GetValue(eta),
                    Guidance = p.GetValue(guidance),
                    Seed = p.GetValue(seed),
                },
            };
            var result = DiffusionEvaluator.Evaluate(model, options, new SynchronousProgress<string>(line => output.WriteLine($"  {line}")));
            WriteSummary(output, path, model, result);
            if (p.GetValue(json) is { } jsonPath)
            {
                result.Save(jsonPath);
                output.WriteLine($"wrote {jsonPath}");
            }

            return 0;
        });
        return command;
    }

    private static void WriteSummary(TextWriter output, string path, DiffusionModel model, EvaluationResult result)
    {
        var g = result.Generation;
        output.WriteLine($"model:          {path} ({model.Config})");
        output.WriteLine(string.Create(Invariant, $"generated:      {result.Count} images, {g.Sampler} {(g.Steps is { } n ? $"{n} steps" : "default steps")}, η {g.Eta}, guidance {g.Guidance}, seeds {g.Seed}..{g.Seed + (ulong)result.Count - 1}"));
        output.WriteLine(string.Create(Invariant, $"FID:            {result.Fid:F3}{(result.RealDataFid is { } floor ? $"   (real-data floor at {result.Count} images: {floor:F3})" : string.Empty)}"));
        if (result.Kid is { } kid)
        {
            var floorText = result.RealDataKid is { } floorKid
                ? string.Create(Invariant, $"   (real-data floor, the first {result.Count} training images in two halves of {result.Count / 2}: {floorKid.Mean:F5} ± {floorKid.StandardDeviation:F5})")
                : string.Empty;
            output.WriteLine(string.Create(Invariant, $"KID:            {kid.Mean:F5} ± {kid.StandardDeviation:F5} ({kid.Subsets} subsets of {kid.SubsetSize})") + floorText);
        }

        output.WriteLine("classes seen:   " + string.Join(", ", result.ClassHistogram.Select((n, c) => string.Create(Invariant, $"{FashionMnist.ClassNames[c]} {n}"))));
        if (result.ClassAccuracy is { } accuracy)
        {
            output.WriteLine("per-class hit:  " + string.Join(", ", accuracy.Select((a, c) => string.Create(Invariant, $"{FashionMnist.ClassNames[c]} {a:P0}"))) +
                string.Create(Invariant, $"; mean {result.MeanClassAccuracy:P1}"));
        }

        if (result.BitsPerDim is { } bound)
        {
            output.WriteLine(string.Create(Invariant, $"bits/dim:       {bound.Total:F4} on {result.BitsPerDimCount} test images (prior {bound.Prior:F4}, diffusion {bound.Diffusion:F4}, decoder {bound.Decoder:F4})"));
        }

        output.WriteLine(string.Create(Invariant, $"feature net:    SHA-256 {result.FeatureNetworkSha256[..16]}…; took {result.Elapsed:hh\\:mm\\:ss}"));
    }
}
