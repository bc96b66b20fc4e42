// An app that uses MLNet.Diffusion as a package, the way one outside this repository does (README.md):
//
//   PackageConsumer train <model.zip>              writes a few tiny PNGs of two classes beside the model, trains a
//                                                  tiny class-conditional model on them through an ML.NET pipeline
//                                                  and saves the generator
//   PackageConsumer generate <model.zip> <dir>     loads the zip with ML.NET alone (no MLNet.Diffusion call) and
//                                                  writes one PNG per generated image into <dir>
//   PackageConsumer evaluate <model.zip>           measures the model against the PNGs train wrote, with ResNet-18
//                                                  features from the MLNet.Diffusion.Evaluation package
//
// Each prints one line of JSON on standard output: what it did, what the library's TorchSharp fix for Debian 12 did
// (train), and whether libtorch is mapped into the process. A failure is one "error: ..." block on standard error and
// exit code 1.
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Images;

namespace PackageConsumer;

internal static class Program
{
    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private static int Main(string[] args)
    {
        try
        {
            object report = args switch
            {
                ["train", var model] => Training.Run(Path.GetFullPath(model)),
                ["generate", var model, var folder] => Generation.Run(Path.GetFullPath(model), Path.GetFullPath(folder)),
                ["evaluate", var model] => Evaluation.Run(Path.GetFullPath(model)),
                _ => throw new ArgumentException("usage: PackageConsumer train <model.zip> | generate <model.zip> <output folder> | evaluate <model.zip>"),
            };
            Console.Out.WriteLine(JsonSerializer.Serialize(report, s_json));
            return 0;
        }
#pragma warning disable CA1031 // Any failure is the one error block this program promises.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"error: {e}");
            return 1;
        }
    }

    /// <summary>Whether a libtorch library is mapped into this process.</summary>
    internal static bool LibtorchMapped() =>
        File.Exists("/proc/self/maps") && File.ReadLines("/proc/self/maps").Any(l => l.Contains("libtorch", StringComparison.OrdinalIgnoreCase));

    /// <summary>The loaded assemblies named like TorchSharp or MLNet.Diffusion.</summary>
    internal static string[] TorchAndDiffusionAssemblies() => AppDomain.CurrentDomain.GetAssemblies()
        .Select(a => a.GetName().Name ?? "")
        .Where(n => n.Contains("Torch", StringComparison.OrdinalIgnoreCase) || n.StartsWith("MLNet.Diffusion", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)
        .ToArray();
}

/// <summary>Training, the only part that calls MLNet.Diffusion (and so TorchSharp).</summary>
internal static class Training
{
    private const int Side = 12;
    private const int PerClass = 4;

    public static object Run(string modelPath)
    {
        var clock = Stopwatch.StartNew();
        var imageFolder = Path.Combine(Path.GetDirectoryName(modelPath)!, "training-images");
        var rows = WriteImages(imageFolder);

        var ml = new MLContext(seed: 1);
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith("DiffusionTrainer", StringComparison.Ordinal))
            {
                Console.Error.WriteLine(e.Message);
            }
        };
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder, "Path"))
            .Append(ml.Transforms.ResizeImages("Image", 8, 8))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(labelColumnName: "Label", modelPreset: "tiny", maxSteps: 3, batchSize: 4));
        var model = pipeline.Fit(data);
        using var generator = model.LastTransformer;

        // The generator alone, saved by ML.NET itself with the schema of the seeds it will get: Int64 Seed, Int32 Label.
        // (ml.Diffusion().SaveModel takes the same arguments and writes through a temporary file.)
        var seeds = ml.Diffusion().CreateSeeds(count: 2, labels: [0, 1]);
        ml.Model.Save(generator, seeds.Schema, modelPath);

        return new
        {
            Command = "train",
            Model = modelPath,
            ModelBytes = new FileInfo(modelPath).Length,
            Images = rows.Length,
            NativeFix = LibTorchSharpFix.Outcome,
            LibtorchMapped = Program.LibtorchMapped(),
            Assemblies = Program.TorchAndDiffusionAssemblies(),
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
        };
    }

    /// <summary>Two classes of solid 12×12 images, reddish and bluish, a little different each.</summary>
    private static ImageRow[] WriteImages(string folder)
    {
        Directory.CreateDirectory(folder);
        var rows = new List<ImageRow>();
        foreach (var (label, colour) in new[] { ("red", (R: 220, G: 40, B: 30)), ("blue", (R: 30, G: 60, B: 210)) })
        {
            for (var i = 0; i < PerClass; i++)
            {
                var rgba = new byte[Side * Side * 4];
                for (var p = 0; p < Side * Side; p++)
                {
                    rgba[(4 * p) + 0] = (byte)(colour.R - (8 * i));
                    rgba[(4 * p) + 1] = (byte)(colour.G + (8 * i));
                    rgba[(4 * p) + 2] = (byte)(colour.B - (4 * i));
                    rgba[(4 * p) + 3] = 255;
                }

                var name = $"{label}-{i}.png";
                using var image = MLImage.CreateFromPixels(Side, Side, MLPixelFormat.Rgba32, rgba);
                image.Save(Path.Combine(folder, name));
                rows.Add(new ImageRow { Path = name, Label = label });
            }
        }

        return [.. rows];
    }
}

/// <summary>Generation with ML.NET alone: nothing here names a type of MLNet.Diffusion.</summary>
internal static class Generation
{
    private const int Count = 4;

    public static object Run(string modelPath, string folder)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(folder);
        var ml = new MLContext();
        var model = ml.Model.Load(modelPath, out _);
        var files = new List<string>();
        int width = 0, height = 0;
        try
        {
            var seeds = ml.Data.LoadFromEnumerable(Enumerable.Range(0, Count).Select(i => new SeedRow { Seed = 100 + i, Label = i % 2 }));
            var images = model.Transform(seeds);
            var column = images.Schema["Image"];
            using var cursor = images.GetRowCursor([column]);
            var getter = cursor.GetGetter<MLImage>(column);
            while (cursor.MoveNext())
            {
                MLImage image = null!;
                getter(ref image);
                using (image)
                {
                    (width, height) = (image.Width, image.Height);
                    var file = Path.Combine(folder, $"{files.Count:D4}.png");
                    image.Save(file);
                    files.Add(file);
                }
            }
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }

        return new
        {
            Command = "generate",
            Rows = files.Count,
            Width = width,
            Height = height,
            Files = files,
            LibtorchMapped = Program.LibtorchMapped(),
            Assemblies = Program.TorchAndDiffusionAssemblies(),
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
        };
    }
}

/// <summary>
/// Evaluation on the app's own images: the MLNet.Diffusion.Evaluation package's build files put ResNet-18 in this app's
/// output (DnnImageModels/), where the evaluator finds it.
/// </summary>
internal static class Evaluation
{
    public static object Run(string modelPath)
    {
        var clock = Stopwatch.StartNew();
        var folder = Path.GetDirectoryName(modelPath)!;
        using var model = MLNet.Diffusion.DiffusionModel.Load(modelPath, "cpu");
        var result = MLNet.Diffusion.Evaluation.DiffusionEvaluator.Evaluate(model, new MLNet.Diffusion.Evaluation.EvaluationOptions
        {
            Count = 8,
            Reference = MLNet.Diffusion.Evaluation.EvaluationData.FromFolder(Path.Combine(folder, "training-images")),
            Features = MLNet.Diffusion.Metrics.EvaluationFeatures.ResNet18,
            Generation = new GenerationOptions { Steps = 2 },
            CacheDirectory = Path.Combine(folder, "feature-cache"),
            ClosestPairsPath = Path.Combine(folder, "closest-pairs.png"),
        });
        return new
        {
            Command = "evaluate",
            result.FeatureNetwork,
            result.ReferenceCount,
            Kid = result.Kid!.Mean,
            FloorKid = result.RealDataKid?.Mean,
            result.PrecisionRecall!.Precision,
            result.PrecisionRecall.Recall,
            Memorized = result.Memorization!.ShareBelowThreshold,
            Models = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"), "*.onnx", SearchOption.AllDirectories)
                .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray(),
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
        };
    }
}

/// <summary>A training row: an image file (relative to the image folder) and its class name.</summary>
internal sealed class ImageRow
{
    public string Path { get; set; } = "";

    public string Label { get; set; } = "";
}

/// <summary>A generation row: the seed of the image and its class (0 or 1).</summary>
internal sealed class SeedRow
{
    public long Seed { get; set; }

    public int Label { get; set; }
}
