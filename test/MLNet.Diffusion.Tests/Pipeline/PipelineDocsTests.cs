using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>The code blocks of docs/getting-started.md and docs/pipeline.md, run at tiny size (RepositoryTests checks each block is here).</summary>
[TestClass]
public sealed class PipelineDocsTests
{
    public sealed class ImageRow
    {
        public string Path { get; set; } = "";

        public string Label { get; set; } = "";
    }

    public sealed class GeneratedImage
    {
        [ImageType(16, 16)]
        public MLImage Image { get; set; } = null!;
    }

    public sealed class SeedInput
    {
        public long Seed { get; set; }

        public int Label { get; set; }
    }

    public sealed class VectorRow
    {
        [VectorType(1, 8, 8)]
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void EvaluationWhileTraining_Example()
    {
        using var temp = new TempFolder();
        var imageFolder = Path.Combine(temp.Path, "images");
        Directory.CreateDirectory(imageFolder);
        for (var i = 0; i < 8; i++)
        {
            ImageCodec.SavePng(TestImages.Solid(20, 20, [(byte)(i * 30), 120, 90]), Path.Combine(imageFolder, $"{i}.png"));
        }

        var (steps, evaluateEvery, evaluationCount) = (4, 2, 8);
        var checkpoints = temp.File("checkpoints");
        var reportPath = temp.File("report.html");
        // docs: evaluate while training
        var ml = new MLContext(seed: 1);
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith("DiffusionTrainer", StringComparison.Ordinal) && e.RawMessage.StartsWith("evaluation", StringComparison.Ordinal))
            {
                Console.WriteLine(e.RawMessage);   // the cost before the first evaluation, then each KID
            }
        };
        var data = ml.Diffusion().LoadImageFolder(imageFolder, imageSize: 16);
        var trainer = ml.Diffusion().Train(new DiffusionTrainer.Options
        {
            ModelPreset = "tiny",
            MaxSteps = steps,
            BatchSize = 4,
            CheckpointDirectory = checkpoints, // best.zip goes here, beside the checkpoints
            EvaluateEvery = evaluateEvery,     // KID of the moving average every N steps and at the last
            EvaluationCount = evaluationCount, // images per evaluation; 500 by default
            ReportPath = reportPath,           // the report draws the curve
        });
        using var model = trainer.Fit(data);
        using var best = DiffusionModel.Load(Path.Combine(checkpoints, "best.zip"));
        // end
        StringAssert.Contains(File.ReadAllText(reportPath), "<h2>Evaluation</h2>");
        StringAssert.Contains(File.ReadAllText(reportPath), "every 2 steps and at the last");
        Assert.IsTrue(best.Training!.Steps is 2 or 4);
    }

    [TestMethod]
    public void GettingStarted_Example()
    {
        using var temp = new TempFolder();
        var imageFolder = Path.Combine(temp.Path, "images");
        foreach (var (name, value) in new[] { ("boots", (byte)40), ("shirts", (byte)200) })
        {
            Directory.CreateDirectory(Path.Combine(imageFolder, name));
            for (var i = 0; i < 4; i++)
            {
                ImageCodec.SavePng(TestImages.Solid(20, 20, [value, (byte)(i * 30), 90]), Path.Combine(imageFolder, name, $"{i}.png"));
            }
        }

        var steps = 2;
        var modelPath = temp.File("model.zip");
        var outputFolder = temp.File("out");
        Directory.CreateDirectory(outputFolder);
        // docs: getting-started train
        var ml = new MLContext(seed: 1);
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith("DiffusionTrainer", StringComparison.Ordinal))
            {
                Console.WriteLine(e.Message);                     // progress, now and then
            }
        };
        var rows = ml.Data.LoadFromEnumerable(Directory.GetFiles(imageFolder, "*", SearchOption.AllDirectories)
            .Where(file => Path.GetExtension(file).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg")
            .Select(file => new ImageRow { Path = Path.GetRelativePath(imageFolder, file), Label = Path.GetFileName(Path.GetDirectoryName(file)!) })
            .OrderBy(row => row.Label, StringComparer.Ordinal));  // keys in the CLI's class order: folder names, ordinal
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder, "Path"))
            .Append(ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(new DiffusionTrainer.Options
            {
                LabelColumnName = "Label",                        // a class-conditional model
                ModelPreset = "tiny",
                MaxSteps = steps,
                BatchSize = 8,
            }));
        var model = pipeline.Fit(rows);
        using var generator = model.LastTransformer;              // the DiffusionModel
        generator.Save(modelPath);
        // end
        Assert.AreEqual((2, 3), (generator.Config.NumClasses, generator.Config.InChannels));
        // The classes keep their names (MapValueToKey's key values: the folder names, in the rows' ordinal order).
        CollectionAssert.AreEqual(new[] { "boots", "shirts" }, generator.ClassNames!.ToArray());

        // docs: getting-started folder
        var folderData = ml.Diffusion().LoadImageFolder(imageFolder, imageSize: 16);
        using var folderModel = ml.Diffusion().Train(labelColumnName: "Label", modelPreset: "tiny", maxSteps: steps, batchSize: 8).Fit(folderData);
        // end
        Assert.AreEqual((16, 2), (folderModel.Config.ImageSize, folderModel.Config.NumClasses));
        CollectionAssert.AreEqual(new[] { "boots", "shirts" }, folderModel.ClassNames!.ToArray());

        // docs: getting-started generate
        var context = new MLContext();
        using var loaded = context.Diffusion().LoadModel(modelPath);
        loaded.TransformOptions = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 20 };
        var seeds = context.Diffusion().CreateSeeds(count: 4, firstSeed: 7, labels: [1]);
        var generated = loaded.Transform(seeds);                  // lazy: images are made when rows are read
        var index = 0;
        foreach (var row in context.Data.CreateEnumerable<GeneratedImage>(generated, reuseRowObject: false))
        {
            row.Image.Save(Path.Combine(outputFolder, $"{index++:D4}.png"));
        }

        // end
        CollectionAssert.AreEqual(new[] { "boots", "shirts" }, loaded.ClassNames?.ToArray(), "the names travel in the model file");
        var files = Directory.GetFiles(outputFolder, "*.png").Order(StringComparer.Ordinal).ToArray();
        Assert.AreEqual(4, files.Length);
        Assert.AreEqual((16, 16), ImageCodec.Load(files[0]) is var first ? (first.Width, first.Height) : default);

        Predict(ml, generator, outputFolder);
        Assert.IsTrue(File.Exists(Path.Combine(outputFolder, "seed-42.png")));
    }

    [TestMethod]
    public void Pipeline_SaveAndLoad()
    {
        using var temp = new TempFolder();
        var imageFolder = temp.File("images");
        Directory.CreateDirectory(imageFolder);
        for (var i = 0; i < 4; i++)
        {
            ImageCodec.SavePng(TestImages.Solid(16, 16, [(byte)(50 * i), 90, 200]), Path.Combine(imageFolder, $"{i}.png"));
        }

        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 4).Select(i => new ImageRow { Path = $"{i}.png", Label = $"c{i % 2}" }));
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder, "Path"))
            .Append(ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(labelColumnName: "Label", modelPreset: "tiny", maxSteps: 2, batchSize: 4))
            .Fit(rows);
        using var generator = model.LastTransformer;
        generator.TransformOptions = new GenerationOptions { Steps = 4 };
        var modelPath = temp.File("generator.zip");
        var chainPath = temp.File("chain.zip");
        // docs: pipeline save and load
        var seeds = ml.Diffusion().CreateSeeds(count: 4, firstSeed: 7, labels: [1]);
        ml.Diffusion().SaveModel(generator, seeds.Schema, modelPath);    // or ml.Model.Save(generator, seeds.Schema, modelPath)

        // Another app: Microsoft.ML, OnnxTransformer, OnnxRuntime, ImageAnalytics.
        var other = new MLContext();
        var loadedGenerator = other.Model.Load(modelPath, out var seedsSchema);
        var seedRows = other.Data.LoadFromEnumerable(Enumerable.Range(7, 4).Select(i => new SeedInput { Seed = i, Label = 1 }));
        var images = other.Data.CreateEnumerable<GeneratedImage>(loadedGenerator.Transform(seedRows), reuseRowObject: false).ToList();
        (loadedGenerator as IDisposable)?.Dispose();                     // deletes ONNX Runtime's copy of the graph
        // end
        Assert.HasCount(4, images);
        Assert.AreEqual((16, 16), (images[3].Image.Width, images[3].Image.Height));
        Assert.AreEqual(NumberDataViewType.Int64, seedsSchema["Seed"].Type);

        // docs: pipeline save whole chain
        ml.Diffusion().SaveModel(model, rows.Schema, chainPath);
        var chain = (TransformerChain<ITransformer>)other.Model.Load(chainPath, out var rowsSchema);
        var fromChain = chain.LastTransformer.Transform(seedRows);
        // end
        var again = other.Data.CreateEnumerable<GeneratedImage>(fromChain, reuseRowObject: false).ToList();
        Assert.AreEqual(images[3].Image.GetBGRPixels.Length, again[3].Image.GetBGRPixels.Length);
        CollectionAssert.AreEqual(images[3].Image.GetBGRPixels, again[3].Image.GetBGRPixels);
        Assert.AreEqual("Path", rowsSchema["Path"].Name);
        chain.Dispose();
    }

    [TestMethod]
    public void Readme_QuickExample()
    {
        using var temp = new TempFolder();
        var imageFolder = temp.File("images");
        Directory.CreateDirectory(imageFolder);
        var images = new List<ImageRow>();
        for (var i = 0; i < 4; i++)
        {
            ImageCodec.SavePng(TestImages.Solid(20, 20, [(byte)(60 * i), 120, 30]), Path.Combine(imageFolder, $"{i}.png"));
            images.Add(new ImageRow { Path = $"{i}.png", Label = i < 2 ? "dark" : "light" });
        }

        var steps = 2;
        var modelPath = temp.File("model.zip");
        // docs: readme quick example
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(images);            // rows with a Path and a Label (text) column
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder, "Path"))
            .Append(ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(labelColumnName: "Label", modelPreset: "tiny", maxSteps: steps))
            .Fit(rows);
        var seeds = ml.Diffusion().CreateSeeds(count: 4, firstSeed: 7, labels: [1]);
        ml.Diffusion().SaveModel(model.LastTransformer, seeds.Schema, modelPath);  // ML.NET's zip, the generator as ONNX inside
        // end
        model.LastTransformer.Dispose();
        var loaded = new MLContext().Model.Load(modelPath, out _);
        Assert.AreEqual(4, new MLContext().Data.CreateEnumerable<GeneratedImage>(loaded.Transform(seeds), reuseRowObject: false).Count());
        (loaded as IDisposable)?.Dispose();
    }

    private static void Predict(MLContext ml, DiffusionModel model, string outputFolder)
    {
        // docs: pipeline prediction engine
        var engine = ml.Model.CreatePredictionEngine<SeedInput, GeneratedImage>(model, ignoreMissingColumns: true);
        var image = engine.Predict(new SeedInput { Seed = 42, Label = 1 }).Image;
        image.Save(Path.Combine(outputFolder, "seed-42.png"));
        // end
    }

    [TestMethod]
    public void Pipeline_OwnVectors()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(1);
        var rows = Enumerable.Range(0, 6).Select(_ => new VectorRow { Pixels = [.. Enumerable.Range(0, 64).Select(_ => (float)((random.NextDouble() * 2) - 1))] }).ToList();
        // docs: pipeline own vectors
        // Your own vectors: declare the [C, H, W] shape; the trainer checks it and the range of the first batch.
        var view = ml.Data.LoadFromEnumerable(rows);
        var trainer = ml.Diffusion().Train(modelPreset: "tiny", maxSteps: 2, batchSize: 4);
        using var model = trainer.Fit(view);
        // end
        Assert.AreEqual((8, 1), (model.Config.ImageSize, model.Config.InChannels));
    }
}
