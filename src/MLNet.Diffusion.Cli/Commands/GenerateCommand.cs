using System.CommandLine;
using MLNet.Diffusion.Onnx;
using Spectre.Console;
using MLNet.Diffusion.Images;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary><c>mlnet-diffusion generate</c>: images from a saved model, with TorchSharp or through ONNX Runtime.</summary>
internal static class GenerateCommand
{
    // Images per ONNX Runtime run of `generate --engine onnx` (each image depends only on its seed and label, not on the batch).
    private const int OnnxBatch = 32;

    public static Command Create(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip, or a training checkpoint (its moving-average weights).", Required = true };
        var count = new Option<int>("--count") { Description = "How many images.", DefaultValueFactory = _ => 16 };
        var outPath = new Option<string>("--out") { Description = "A .png path (one grid) or a folder (one PNG per image); a missing folder is created.", Required = true };
        var sampler = SamplerOption("dpm-solver++, ddim, ddpm, heun or euler (Karras et al. 2022's Heun and Euler on the Karras grid).");
        var steps = StepsOption("Sampling steps (default: 20 for dpm-solver++ and euler, 50 for ddim, all for ddpm, 10 for heun, which evaluates the network 2 × steps − 1 times).");
        var eta = new Option<double>("--eta") { Description = "DDIM's η (--sampler ddim only).", DefaultValueFactory = _ => 0 };
        var churn = ChurnOption();
        var seed = new Option<ulong>("--seed") { Description = "Image i uses seed + i.", DefaultValueFactory = _ => 0 };
        var label = new Option<string?>("--label")
        {
            Description = "The class to generate (class-conditional models): its name (info lists them) or its number; -1 generates unconditionally.",
        };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale, toward --label (1: none).", DefaultValueFactory = _ => 1 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda[:N] (--engine torch).", DefaultValueFactory = _ => "auto" };
        var engine = new Option<string>("--engine")
        {
            Description = "torch (TorchSharp, any sampler, any device) or onnx (the generator graph through ONNX Runtime on the CPU: the model file's graph when it fixes the sampler, steps and guidance asked for, else one built for them; ddim with η 0 or dpm-solver++).",
            DefaultValueFactory = _ => "torch",
        };
        var scale = new Option<int?>("--scale")
        {
            Description = $"Enlargement of the grid's images by nearest neighbour, 1 to 16 (default: 2 below {ImageGrid.SmallImageSize} px, else 1); a folder's PNGs keep the model's size.",
        };
        engine.AcceptOnlyFromAmong("torch", "onnx");
        var command = new Command("generate", "Generate images with a saved model.") { modelPath, count, outPath, sampler, steps, eta, churn, seed, label, guidance, device, engine, scale };
        command.SetAction(p =>
        {
            Check(p.GetValue(count) >= 1, $"--count must be ≥ 1, not {p.GetValue(count)}");
            CheckSteps(p, steps);
            CheckGuidanceEtaAndChurn(p, sampler, eta, churn, guidance);
            Check(p.GetValue(label) is not null || p.GetValue(guidance) == 1,
                $"--guidance {p.GetValue(guidance).ToString(Invariant)} applies only with --label: guidance steers the images toward a class of a class-conditional model");
            var onnx = p.GetRequiredValue(engine) == "onnx";
            if (onnx)
            {
                // A graph is deterministic and runs on the CPU: what it cannot do is refused before any work.
                Check(ParseSampler(p.GetRequiredValue(sampler)).IsDeterministic(),
                    "--engine onnx runs a deterministic graph, and --sampler ddpm draws fresh noise at every step: use --sampler dpm-solver++, ddim, heun or euler, or --engine torch");
                Check(p.GetValue(eta) == 0,
                    $"--engine onnx runs a deterministic graph: --eta must be 0, not {p.GetValue(eta).ToString(Invariant)} (η > 0 draws fresh noise at every step); use --engine torch");
                Check(p.GetValue(churn) == 0,
                    $"--engine onnx runs a deterministic graph: --churn must be 0, not {p.GetValue(churn).ToString(Invariant)} (churn draws fresh noise at every step); use --engine torch");
                Check(p.GetRequiredValue(device) is "auto" or "cpu",
                    $"--device {p.GetRequiredValue(device)} applies only to --engine torch: --engine onnx runs on the CPU through ONNX Runtime");
                Check(p.GetValue(seed) <= (ulong)(long.MaxValue - (p.GetValue(count) - 1)),
                    $"--engine onnx takes seeds below 2^63: --seed {p.GetValue(seed)} with --count {p.GetValue(count)} goes past it");
            }

            if (!onnx)
            {
                CheckDevice(p, device);
            }

            var target = p.GetRequiredValue(outPath);
            var grid = target.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
            Check(p.GetValue(scale) is null or (>= 1 and <= 16), $"--scale must be 1 to 16, not {p.GetValue(scale)}");
            Check(grid || p.GetValue(scale) is null, "--scale applies only to a grid (--out ending in .png): a folder's PNGs keep the model's size");
            Check(grid || Path.GetExtension(target).ToLowerInvariant() is not (".jpg" or ".jpeg" or ".bmp" or ".gif" or ".webp" or ".tif" or ".tiff"),
                $"--out '{target}': generate writes PNG only; end the path with .png for one grid, or give a folder for one PNG per image");

            // The model file is read (and checked) before the output is prepared, so a file that is not a model writes nothing.
            var path = p.GetRequiredValue(modelPath);
            using var model = LoadModel(path, onnx ? "cpu" : p.GetRequiredValue(device), output);
            var options = new GenerationOptions
            {
                Sampler = ParseSampler(p.GetRequiredValue(sampler)),
                Steps = p.GetValue(steps),
                Eta = p.GetValue(eta),
                Churn = p.GetValue(churn),
                Seed = p.GetValue(seed),
                Label = p.GetValue(label) is { } given ? ClassIndex(model, given) : null,
                Guidance = p.GetValue(guidance),
            };
            Image[] images;
            if (onnx)
            {
                images = GenerateOnnx(output, path, model, options, p.GetValue(count), target, grid);
            }
            else
            {
                PrepareOutput("--out", target, folder: !grid);
                using var values = model.Generate(p.GetValue(count), options);
                using (var nan = values.isnan().any())
                {
                    Check(!nan.item<bool>(), "The images hold NaN values (did sampling diverge?).", invalidOperation: true);
                }

                // Through the model's pixel encoding, rounded as the generator graph rounds: both engines write the same bytes.
                images = model.ConvertToImages(values);
                // Said once the images exist, so that a refused request prints only its error.
                var (used, usedSteps, usedGuidance) = model.GraphSettings(options);
                output.WriteLine(string.Create(Invariant,
                    $"engine torch ({model.Network.parameters().First().device}): {SamplerName(used)}{(used == SamplerKind.Ddim && options.Eta != 0 ? $" (η {options.Eta})" : string.Empty)}{(options.Churn != 0 ? $" (churn {options.Churn})" : string.Empty)}, {usedSteps} steps, guidance {usedGuidance}"));
            }

            if (grid)
            {
                var factor = p.GetValue(scale) ?? ImageGrid.DefaultScale(model.Config.ImageSize);
                ImageCodec.SavePng(ImageGrid.Compose([.. images.Select(i => ImageGrid.Upscale(i, factor))], Math.Min(images.Length, 8)), target);
                output.WriteLine($"wrote {target}");
            }
            else
            {
                for (var i = 0; i < images.Length; i++)
                {
                    ImageCodec.SavePng(images[i], Path.Combine(target, i.ToString("D4", Invariant) + ".png"));
                }

                output.WriteLine(string.Create(Invariant, $"wrote {images.Length} images to {target}"));
            }

            return 0;
        });
        return command;
    }

    // `generate --engine onnx`: the model file's graph when it fixes the settings asked for, else one built for them.
    private static Image[] GenerateOnnx(TextWriter output, string path, DiffusionModel model, GenerationOptions options, int count, string target, bool grid)
    {
        long[]? labels = null;
        if (options.Label is { } label)
        {
            model.CheckLabels([label], "--label");
            labels = [.. Enumerable.Repeat((long)label, count)];
        }

        var wanted = model.GraphSettings(options);
        var fromFile = ModelFile.FixedSampler(model, path) is { } graphSettings && (graphSettings.Sampler, graphSettings.Steps, graphSettings.Guidance) == wanted;
        PrepareOutput("--out", target, folder: !grid);
        output.WriteLine(string.Create(Invariant,
            $"engine onnx: {(fromFile ? "the graph in the model file" : "a graph built from the model's weights")}: {SamplerName(wanted.Sampler)}, {wanted.Steps} steps, guidance {wanted.Guidance}"));
        using var generator = fromFile ? OnnxGenerator.FromModelFile(path) : new OnnxGenerator(model.ToOnnx(options));
        var images = new List<Image>(count);
        for (var first = 0; first < count; first += OnnxBatch)
        {
            var n = Math.Min(OnnxBatch, count - first);
            var seeds = Enumerable.Range(first, n).Select(i => (long)options.Seed + i).ToArray();
            images.AddRange(generator.GenerateImages(seeds, labels?[first..(first + n)]));
        }

        return [.. images];
    }
}
