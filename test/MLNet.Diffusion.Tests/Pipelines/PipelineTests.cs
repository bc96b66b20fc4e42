using MLNet.Diffusion.Data;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Pipelines;
using MLNet.Diffusion.Tests.Data;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Tests.Pipelines;

[TestClass]
public sealed class PipelineTests
{
    private static TempFolder s_images = null!;

    public sealed class Example
    {
        public float[] Pixels { get; init; } = [];

        public long Label { get; init; }
    }

    public sealed class SeedRow
    {
        public long Seed { get; init; }

        public int Label { get; init; }
    }

    [ClassInitialize]
    public static void WriteImages(TestContext context)
    {
        // Two classes of 12×10 RGB images (wider than tall, so every resize mode has work to do).
        s_images = new TempFolder();
        foreach (var (name, color) in new[] { ("dark", (byte)30), ("light", (byte)220) })
        {
            Directory.CreateDirectory(s_images.File(name));
            for (var i = 0; i < 4; i++)
            {
                PngCodec.Save(JpegCodecTests.SolidImage(12, 10, [color, (byte)(color / 2), (byte)(40 * i)]), s_images.File(Path.Combine(name, $"{i}.png")));
            }
        }
    }

    [ClassCleanup]
    public static void Cleanup() => s_images.Dispose();

    private static DiffusionTrainerOptions TinyOptions => new()
    {
        ModelPreset = "tiny", BatchSize = 4, MaxSteps = 3, WarmupSteps = 1, SampleGridSize = 0, Device = "cpu",
        Schedule = new() { TrainTimesteps = 50 },
    };

    [TestMethod]
    public void Fit_FolderPipeline_TrainsAModelThatTransformsSeedsIntoImages()
    {
        var ml = new DiffusionContext(seed: 3);
        var log = new List<string>();
        ml.Log += (_, e) => log.Add(e.ToString());
        var data = ml.Data.LoadFromImageFolder(s_images.Path);
        var pipeline = ml.Transforms.LoadImages("Image", s_images.Path, "Path")
            .Append(ml.Transforms.ResizeImages("Image", 8, 8, resizing: ImageResizeMode.IsoPad))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", PixelColors.Gray, offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(TinyOptions with { LabelColumnName = "Label" }));
        Assert.AreEqual("Seed: WholeNumber, Label: Key(2), Image: Image 8×8×1", pipeline.GetOutputSchema(data.Schema).ToString());

        using var model = pipeline.Fit(data);
        Assert.AreEqual((8, 1, 2), (model.Config.ImageSize, model.Config.InChannels, model.Config.NumClasses));
        Assert.AreEqual(new PixelEncoding(PixelColors.Gray, 127.5f, 1 / 127.5f, false, ImageResizeMode.IsoPad), model.Preprocessing);
        Assert.AreEqual(3UL, model.Training!.Seed, "the context's seed");
        StringAssert.StartsWith(log[0], "DiffusionTrainer: training tiny on 8 images 1×8×8 in 2 classes: 3 steps of 4, seed 3");
        StringAssert.Contains(log[^1], "finished after 3 steps");

        // Saved and loaded through the catalog, the model keeps its encoding and turns seeds (and labels) into images.
        var path = s_images.File("model.zip");
        ml.Model.Save(model, path);
        using var loaded = ml.Model.Load(path);
        Assert.AreEqual(model.Preprocessing, loaded.Preprocessing);
        loaded.TransformOptions = new GenerationOptions { Steps = 4 };
        loaded.TransformBatchSize = 2;
        var seeds = ml.Data.LoadFromEnumerable(new[] { new SeedRow { Seed = 10, Label = 1 }, new SeedRow { Seed = 11, Label = 0 }, new SeedRow { Seed = 12, Label = 1 } });
        var generated = loaded.Transform(seeds);
        Assert.AreEqual("Seed: WholeNumber, Label: WholeNumber, Image: Image 8×8×1", generated.Schema.ToString());
        var images = generated.GetRows().Select(r => r.GetValue<Image>("Image")).ToList();
        Assert.AreEqual(3, images.Count);

        // Row by row the same as Generate with the same seed and label, mapped back through the encoding.
        using var direct = model.Generate(1, new GenerationOptions { Steps = 4, Seed = 12, Label = 1 });
        CollectionAssert.AreEqual(model.ConvertToImages(direct)[0].Pixels.ToArray(), images[2].Pixels.ToArray());
        CollectionAssert.AreEqual(images[1].Pixels.ToArray(), generated.GetRow(1).GetValue<Image>("Image").Pixels.ToArray());
    }

    [TestMethod]
    public void Fit_OnADataView_TrainsExactlyAsTheTrainerOnTensors()
    {
        torch.random.manual_seed(0);
        using var images = torch.rand([6, 1, 8, 8]) * 2 - 1;
        var pixels = images.data<float>().ToArray();
        var rows = Enumerable.Range(0, 6).Select(i => new Example { Pixels = pixels[(i * 64)..((i + 1) * 64)], Label = i % 3 }).ToList();
        var ml = new DiffusionContext();
        var view = ml.Data.LoadFromEnumerable(rows, new DataViewSchema([new("Pixels", ColumnType.Vector([1, 8, 8])), new("Label", ColumnType.Key(3))]));
        var options = TinyOptions with { LabelColumnName = "Label", Seed = 9, MaxSteps = 4 };

        using var fromView = ml.Diffusion().Train(options).Fit(view);
        using var labels = torch.tensor(rows.Select(r => r.Label).ToArray());
        using var tensors = new TensorTrainingData(images, labels, 3);
        using var reference = new DdpmTrainer(options with { ClassConditional = true }).Train(tensors);
        using var expected = DiffusionModel.FromTraining(reference);
        var generation = new GenerationOptions { Steps = 3, Seed = 1, Labels = [0, 2] };
        using var a = fromView.Generate(2, generation);
        using var b = expected.Generate(2, generation);
        CollectionAssert.AreEqual(b.data<float>().ToArray(), a.data<float>().ToArray());
        Assert.AreEqual(expected.Training!.FinalLoss, fromView.Training!.FinalLoss);
    }

    [TestMethod]
    public void ExtractPixels_ComputesOffsetThenScale_AndConvertToImageInvertsItClamped()
    {
        var ml = new DiffusionContext();
        var image = new Image(2, 1, 3, [0, 128, 255, 10, 20, 30]);
        var view = ml.Data.LoadFromEnumerable(new[] { new ImageRow { Image = image } }, new DataViewSchema([new("Image", ColumnType.Image(2, 1, 3))]));
        var extracted = ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f).Fit(view).Transform(view);
        var values = extracted.GetRow(0).GetValue<float[]>("Pixels");
        CollectionAssert.AreEqual(new[] { -1f, (10 - 127.5f) * (1 / 127.5f), (128 - 127.5f) * (1 / 127.5f), (20 - 127.5f) * (1 / 127.5f), 1f, (30 - 127.5f) * (1 / 127.5f) }, values);
        Assert.AreEqual("Pixels: Vector<float> [3, 1, 2]", extracted.Schema["Pixels"].ToString());

        // Back through the column's own encoding: the original bytes.
        var back = ml.Transforms.ConvertToImage(1, 2, "Restored", "Pixels").Fit(extracted).Transform(extracted);
        CollectionAssert.AreEqual(image.Pixels.ToArray(), back.GetRow(0).GetValue<Image>("Restored").Pixels.ToArray());

        // With ML.NET's explicit form, pixel = value × scale − offset, clamped where ML.NET would wrap.
        var vectors = ml.Data.LoadFromEnumerable(new[] { new Example { Pixels = [-2f, -0.5f, 0f, 0.5f, 2f, 1f] } });
        var clamped = ml.Transforms.ConvertToImage(2, 1, "Image", "Pixels", PixelColors.Rgb, interleavedColors: true, scaleImage: 127.5f, offsetImage: -127.5f)
            .Fit(vectors).Transform(vectors);
        CollectionAssert.AreEqual(new byte[] { 0, 64, 128, 191, 255, 255 }, clamped.GetRow(0).GetValue<Image>("Image").Pixels.ToArray());
    }

    public sealed class ImageRow
    {
        public Image Image { get; init; } = null!;
    }

    [TestMethod]
    public void ResizeImages_BringsEveryImageToTheSize_ByItsMode()
    {
        var ml = new DiffusionContext();
        var view = ml.Data.LoadFromImageFolder(s_images.Path);
        foreach (var mode in new[] { ImageResizeMode.Fill, ImageResizeMode.IsoCrop, ImageResizeMode.IsoPad })
        {
            var resized = ml.Transforms.LoadImages("Image", s_images.Path, "Path").Append(ml.Transforms.ResizeImages("Image", 6, 6, resizing: mode)).Fit(view).Transform(view);
            var image = resized.GetRow(4).GetValue<Image>("Image");
            Assert.AreEqual((6, 6, 3), (image.Width, image.Height, image.Channels), mode.ToString());
            // A solid 12×10 image stays solid except where IsoPad pads: 6×5 content, centered, leaves the bottom row black.
            Assert.AreEqual(mode == ImageResizeMode.IsoPad ? 0 : 220, image[3, 5, 0], mode.ToString());
            Assert.AreEqual(220, image[3, 3, 0], mode.ToString());
        }
    }

    [TestMethod]
    public void SchemaErrors_NameTheColumn_BeforeAnyTraining()
    {
        var ml = new DiffusionContext();
        var folder = ml.Data.LoadFromImageFolder(s_images.Path);
        var load = ml.Transforms.LoadImages("Image", s_images.Path, "Path");
        var extract = ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f);
        var train = ml.Diffusion().Train(TinyOptions);

        void Expect(Func<object> fit, string message)
        {
            var error = Assert.ThrowsExactly<ArgumentException>(() => fit());
            Assert.IsTrue(error.Message.StartsWith(message, StringComparison.Ordinal), error.Message);
            Assert.AreEqual("inputSchema", error.ParamName);
        }

        Expect(() => ml.Transforms.LoadImages("Image", s_images.Path, "File").Append(train).Fit(folder),
            "Schema mismatch: input column 'File' (text: image paths) not found; the data has 'Path', 'Label'.");
        Expect(() => ml.Transforms.ResizeImages("Image", 8, 8, "Path").Fit(folder),
            "Schema mismatch for input column 'Path': expected Image, got Text.");
        Expect(() => load.Append(extract).Append(train).Fit(folder),
            "Schema mismatch for input column 'Image': expected images of one known size, got Image (any size). Resize them first with ResizeImages.");
        Expect(() => load.Append(ml.Transforms.ResizeImages("Image", 8, 6)).Append(extract).Append(train).Fit(folder),
            "Schema mismatch for input column 'Pixels': expected a float vector [C, H, W] with C = 1 or 3 and H = W, got Vector<float> [3, 6, 8]. Its images are 8×6: resize them to a square.");
        Expect(() => load.Append(ml.Transforms.ResizeImages("Image", 8, 8)).Append(ml.Transforms.ExtractPixels("Pixels", "Image")).Append(train).Fit(folder),
            "Schema mismatch for input column 'Pixels': expected pixels in [-1, 1], got Vector<float> [3, 8, 8]. Its pixels 0 to 255 become 0 to 255: extract with offsetImage: 127.5f, scaleImage: 1 / 127.5f.");
        Expect(() => load.Append(ml.Transforms.ResizeImages("Image", 8, 8)).Append(ml.Transforms.ExtractPixels("Pixels", "Image", interleavePixelColors: true, offsetImage: 127.5f, scaleImage: 1 / 127.5f)).Append(train).Fit(folder),
            "Schema mismatch for input column 'Pixels': expected a float vector [C, H, W] with C = 1 or 3 and H = W, got Vector<float> [8, 8, 3]. Its colors are interleaved [H, W, C]: extract with interleavePixelColors: false.");
        Expect(() => load.Append(ml.Transforms.ResizeImages("Image", 8, 8)).Append(extract).Append(ml.Diffusion().Train(TinyOptions with { Model = UNetConfig.Preset("tiny", 16, 3) })).Fit(folder),
            "Schema mismatch for input column 'Pixels': expected 3×16×16 images, as the model configuration takes, got Vector<float> [3, 8, 8].");
        Expect(() => load.Append(ml.Transforms.ResizeImages("Image", 8, 8)).Append(extract).Append(ml.Diffusion().Train(TinyOptions with { LabelColumnName = "Path" })).Fit(folder),
            "Schema mismatch for input column 'Path': expected a Key column of class labels, got Text. Declare it with ColumnType.Key(classes).");
        Expect(() => load.Append(ml.Transforms.ResizeImages("Image", 8, 8)).Append(extract).Append(ml.Diffusion().Train(TinyOptions with { LabelColumnName = "Class" })).Fit(folder),
            "Schema mismatch: input column 'Class' (class labels) not found; the data has 'Path', 'Label', 'Image', 'Pixels'.");

        var noLabel = Assert.ThrowsExactly<ArgumentException>(() =>
            load.Append(ml.Transforms.ResizeImages("Image", 8, 8)).Append(extract).Append(ml.Diffusion().Train(TinyOptions with { ClassConditional = true })).Fit(folder));
        StringAssert.StartsWith(noLabel.Message, "ClassConditional needs a label column");

        using var model = DiffusionModelFor(ml);
        var seeds = ml.Data.LoadFromEnumerable(new[] { new Example() });
        Expect(() => model.Transform(seeds), "Schema mismatch: input column 'Seed' (seeds) not found; the data has 'Pixels', 'Label'.");
    }

    private static DiffusionModel DiffusionModelFor(DiffusionContext ml)
    {
        var view = ml.Data.LoadFromEnumerable(new[] { new Example { Pixels = new float[64] } }, new DataViewSchema([new("Pixels", ColumnType.Vector([1, 8, 8]))]));
        return ml.Diffusion().Train(TinyOptions with { MaxSteps = 1, BatchSize = 1 }).Fit(view);
    }

    [TestMethod]
    public void RandomHorizontalFlip_ChangesTraining_AndResumesBitExactly()
    {
        using var folder = new TempFolder();
        torch.random.manual_seed(1);
        using var images = torch.rand([8, 1, 8, 8]) * 2 - 1;
        using var data = new TensorTrainingData(images);
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 8, 1), BatchSize = 4, MaxSteps = 4, WarmupSteps = 1, SampleGridSize = 0, Device = "cpu",
            RandomHorizontalFlip = true, CheckpointDirectory = folder.Path, CheckpointEvery = 2,
        };
        using var flipped = new DdpmTrainer(options).Train(data);
        using var plain = new DdpmTrainer(options with { RandomHorizontalFlip = false, CheckpointDirectory = null }).Train(data);
        CollectionAssert.AreNotEqual(plain.Losses.ToArray(), flipped.Losses.ToArray());

        using var resumed = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(folder.Path, 2), data);
        CollectionAssert.AreEqual(flipped.Losses.Skip(2).ToArray(), resumed.Losses.ToArray());
    }
}
