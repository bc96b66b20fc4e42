using MLNet.Diffusion.Data;
using MLNet.Diffusion.Pipelines;
using MLNet.Diffusion.Schedulers;
using MLNet.Diffusion.Tests.Data;

namespace MLNet.Diffusion.Tests.Pipelines;

/// <summary>The code blocks of docs/getting-started.md and docs/pipeline.md, run at tiny size (the Torch tests check each block is here).</summary>
[TestClass]
public sealed class PipelineDocsTests
{
    public sealed class SeedAndLabel
    {
        public long Seed { get; init; }

        public long Label { get; init; }
    }

    public sealed class Sample
    {
        public float[] Pixels { get; init; } = [];
    }

    [TestMethod]
    public void GettingStarted_Example()
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "images");
        foreach (var (name, value) in new[] { ("boots", (byte)40), ("shirts", (byte)200) })
        {
            Directory.CreateDirectory(Path.Combine(folder, name));
            for (var i = 0; i < 4; i++)
            {
                PngCodec.Save(JpegCodecTests.SolidImage(20, 20, [value, (byte)(i * 30), 90]), Path.Combine(folder, name, $"{i}.png"));
            }
        }

        var steps = 2;
        var modelPath = temp.File("model.zip");
        var outputFolder = temp.File("out");
        Directory.CreateDirectory(outputFolder);
        // docs: getting-started train
        var ml = new DiffusionContext(seed: 1);
        ml.Log += (_, e) => Console.WriteLine(e.Message);        // progress, now and then
        var data = ml.Data.LoadFromImageFolder(folder);          // Path and Label (one sub-folder per class)
        var pipeline = ml.Transforms.LoadImages("Image", folder, "Path")
            .Append(ml.Transforms.ResizeImages("Image", 16, 16))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(new DiffusionTrainerOptions
            {
                LabelColumnName = "Label",                        // a class-conditional model
                ModelPreset = "tiny",
                MaxSteps = steps,
                BatchSize = 8,
            }));
        using var model = pipeline.Fit(data);
        ml.Model.Save(model, modelPath);
        // end
        // docs: getting-started generate
        using var loaded = ml.Model.Load(modelPath);
        using var samples = loaded.Generate(count: 4, new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 20, Seed = 7, Label = 1 });
        var images = loaded.ConvertToImages(samples);             // back to 0–255 as the pipeline encoded them
        for (var i = 0; i < images.Length; i++)
        {
            PngCodec.Save(images[i], Path.Combine(outputFolder, $"{i:D4}.png"));
        }
        // end
        Assert.AreEqual(4, Directory.GetFiles(outputFolder, "*.png").Length);
        Assert.AreEqual((16, 16, 3), (images[0].Width, images[0].Height, images[0].Channels));
        Assert.AreEqual(2, loaded.Config.NumClasses);
    }

    [TestMethod]
    public void Pipeline_Examples()
    {
        var ml = new DiffusionContext(seed: 1);
        var rows = Enumerable.Range(0, 8).Select(i => new Sample { Pixels = [.. Enumerable.Range(0, 64).Select(p => ((p + i) % 8) / 4f - 1)] });
        // docs: pipeline enumerable
        // Any sequence of objects; a schema declares what the properties cannot say (here the vector's shape).
        var schema = new DataViewSchema([new("Pixels", ColumnType.Vector([1, 8, 8]))]);
        var view = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows, schema));   // a one-pass sequence: cache it to train
        var trainer = ml.Diffusion().Train("Pixels", modelPreset: "tiny", maxSteps: 2, batchSize: 4);
        using var model = trainer.Fit(view);
        // end
        // docs: pipeline transform
        var seeds = ml.Data.LoadFromEnumerable(new[] { new SeedAndLabel { Seed = 1 }, new SeedAndLabel { Seed = 2 } });
        model.TransformOptions = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 10 };
        var generated = model.Transform(seeds);                   // lazy: images are made when rows are read
        foreach (var row in generated.GetRows())
        {
            Image image = row.GetValue<Image>("Image");
            Console.WriteLine($"seed {row.GetValue<long>("Seed")}: {image}");
        }
        // end
        Assert.AreEqual(2, generated.GetRows().Count());
        Assert.AreEqual(1, generated.GetRow(0).GetValue<Image>("Image").Channels);
    }
}
