using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>The trainer and the model inside real ML.NET pipelines, fed by ImageAnalytics' own transforms.</summary>
[TestClass]
public sealed class MLNetPipelineTests
{
    private static TempFolder s_images = null!;
    private static List<ImageRow> s_rows = null!;

    public sealed class ImageRow
    {
        public string Path { get; set; } = "";

        public string Label { get; set; } = "";
    }

    public sealed class SeedInput
    {
        public long Seed { get; set; }

        public int Label { get; set; }
    }

    public sealed class GeneratedOutput
    {
        [ImageType(8, 8)]
        public MLImage Image { get; set; } = null!;

        [VectorType(3, 8, 8)]
        public float[] Pixels { get; set; } = [];
    }

    [ClassInitialize]
    public static void WriteImages(TestContext context)
    {
        // Two classes of 12×10 RGB images: resizing has work to do.
        s_images = new TempFolder();
        s_rows = [];
        foreach (var (name, color) in new[] { ("dark", (byte)30), ("light", (byte)220) })
        {
            Directory.CreateDirectory(s_images.File(name));
            for (var i = 0; i < 4; i++)
            {
                var file = Path.Combine(name, $"{i}.png");
                ImageCodec.SavePng(TestImages.Solid(12, 10, [color, (byte)(color / 2), (byte)(40 * i)]), s_images.File(file));
                s_rows.Add(new ImageRow { Path = file, Label = name });
            }
        }
    }

    [ClassCleanup]
    public static void Cleanup() => s_images.Dispose();

    private static DiffusionTrainer.Options Tiny => new()
    {
        ModelPreset = "tiny", BatchSize = 4, MaxSteps = 3, WarmupSteps = 1, SampleGridSize = 0, Device = "cpu",
        Schedule = new() { TrainTimesteps = 50 },
    };

    // The pipeline, at test size.
    private static EstimatorChain<DiffusionModel> ColorPipeline(MLContext ml, DiffusionTrainer.Options options) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", s_images.Path, "Path"))
            .Append(ml.Transforms.ResizeImages("Image", 8, 8))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(options));

    [TestMethod]
    public void Fit_ImageAnalyticsPipeline_TrainsAModelThatTurnsSeedsIntoImages()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith(nameof(DiffusionTrainer), StringComparison.Ordinal))
            {
                log.Add(e.Message);
            }
        };
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", s_images.Path, "Path"))
            .Append(ml.Transforms.ResizeImages("Image", 8, 8))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(labelColumnName: "Label", modelPreset: "tiny", maxSteps: 3, batchSize: 4));
        var rows = ml.Data.LoadFromEnumerable(s_rows);
        var fitted = pipeline.Fit(rows);
        using var model = fitted.LastTransformer;
        Assert.AreEqual((8, 3, 2), (model.Config.ImageSize, model.Config.InChannels, model.Config.NumClasses));
        Assert.AreEqual(3L, model.Training!.Steps);
        // ML.NET's messages read "[Source=DiffusionTrainer; Training, Kind=Info] text".
        StringAssert.Contains(log.First(m => m.Contains("] training", StringComparison.Ordinal)), "training tiny on 8 images 3×8×8 in 2 classes: 3 steps of 4");
        Assert.IsTrue(log.Any(m => m.Contains("] finished after 3 steps", StringComparison.Ordinal)), string.Join("\n", log));
        Assert.IsTrue(log.Any(m => m.Contains("] step 3/3 loss", StringComparison.Ordinal)), string.Join("\n", log));

        // Transforming the training rows passes them through: nothing is generated, nothing fails.
        var passed = fitted.Transform(rows);
        Assert.IsNull(passed.Schema.GetColumnOrNull("Seed"));
        Assert.AreEqual(passed.Schema.Count, fitted.Take(4).Aggregate(rows.Schema, (s, t) => t.GetOutputSchema(s)).Count);

        // Seeds (and labels) in, images out: lazily, in batches, each image a function of its seed and label.
        model.TransformOptions = new GenerationOptions { Steps = 4 };
        model.TransformBatchSize = 2;
        var generated = model.Transform(ml.Diffusion().CreateSeeds(3, firstSeed: 10, labels: [1, 0]));
        Assert.IsInstanceOfType<ImageDataViewType>(generated.Schema["Image"].Type);
        Assert.AreEqual("Vector<Single, 3, 8, 8>", generated.Schema["Pixels"].Type.ToString());
        var outputs = ml.Data.CreateEnumerable<GeneratedOutput>(generated, reuseRowObject: false).ToList();
        Assert.AreEqual(3, outputs.Count);
        using var direct = model.Generate(1, new GenerationOptions { Steps = 4, Seed = 12, Label = 1 });
        var expected = model.ConvertToImages(direct)[0];
        var planar = Enumerable.Range(0, 3).SelectMany(c => Enumerable.Range(0, 64).Select(i => (float)expected.Pixels[(i * 3) + c])).ToArray();
        CollectionAssert.AreEqual(planar, outputs[2].Pixels, "row 2 = seed 12, label 1 (the labels cycle)");
        var rgba = outputs[2].Image.GetBGRPixels;
        Assert.AreEqual((8, 8), (outputs[2].Image.Width, outputs[2].Image.Height));
        Assert.AreEqual(expected.Pixels[0], rgba[2], "the MLImage holds the same pixels (BGR order)");

        // A PredictionEngine generates one row at a time, the same image.
        var engine = ml.Model.CreatePredictionEngine<SeedInput, GeneratedOutput>(model, ignoreMissingColumns: true);
        CollectionAssert.AreEqual(planar, engine.Predict(new SeedInput { Seed = 12, Label = 1 }).Pixels);

        // MLImage saves the image.
        var png = s_images.File("generated.png");
        outputs[2].Image.Save(png);
        Assert.AreEqual((8, 8), ImageCodec.Load(png) is var saved ? (saved.Width, saved.Height) : default);
    }

    public sealed class RawSeed
    {
        public long Seed { get; set; }
    }

    [TestMethod]
    public void Transform_GeneratesLazilyInBatches_EachImageFromItsSeedAlone()
    {
        var ml = new MLContext(seed: 1);
        using var model = ColorPipeline(ml, Tiny with { MaxSteps = 1, LabelColumnName = null }).Fit(ml.Data.LoadFromEnumerable(s_rows)).LastTransformer;
        model.TransformOptions = new GenerationOptions { Steps = 2 };
        model.TransformBatchSize = 2;

        // Seed −1 in row 5: Transform and the first four rows are fine; reading row 4 generates the batch of rows 4 and 5, which fails.
        var seeds = ml.Data.LoadFromEnumerable(new long[] { 3, 11, 5, 6, 7, -1 }.Select(s => new RawSeed { Seed = s }));
        var generated = model.Transform(seeds);
        using var cursor = generated.GetRowCursor(generated.Schema);
        var pixels = cursor.GetGetter<VBuffer<float>>(generated.Schema["Pixels"]);
        var buffer = default(VBuffer<float>);
        var rows = new List<float[]>();
        for (var row = 0; row < 4; row++)
        {
            Assert.IsTrue(cursor.MoveNext());
            pixels(ref buffer);
            rows.Add(buffer.DenseValues().ToArray());
        }

        Assert.IsTrue(cursor.MoveNext());
        var error = Assert.ThrowsExactly<InvalidDataException>(() => pixels(ref buffer));
        StringAssert.Contains(error.Message, "seed -1 in column 'Seed' is negative");

        // Seed 11 came in a batch with seed 3; alone it gives the same image.
        using var alone = model.Generate(1, new GenerationOptions { Steps = 2, Seed = 11 });
        var image = model.ConvertToImages(alone)[0];
        CollectionAssert.AreEqual(Enumerable.Range(0, 3).SelectMany(c => Enumerable.Range(0, 64).Select(i => (float)image.Pixels[(i * 3) + c])).ToArray(), rows[1]);
    }

    [TestMethod]
    public void Fit_OneChannelPipeline_TrainsAGrayModel()
    {
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.LoadImages("Image", s_images.Path, "Path")
            .Append(ml.Transforms.ResizeImages("Image", 8, 8))
            .Append(ml.Transforms.ConvertToGrayscale("Image"))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", ImagePixelExtractingEstimator.ColorBits.Red, offsetImage: 127.5f, scaleImage: 1 / 127.5f))
            .Append(ml.Diffusion().Train(Tiny));
        using var model = pipeline.Fit(ml.Data.LoadFromEnumerable(s_rows)).LastTransformer;
        Assert.AreEqual((8, 1, (int?)null), (model.Config.ImageSize, model.Config.InChannels, model.Config.NumClasses));
        Assert.AreEqual(PixelColors.Gray, model.Preprocessing.Colors);
        model.TransformOptions = new GenerationOptions { Steps = 2 };
        var row = ml.Data.CreateEnumerable<GrayOutput>(model.Transform(ml.Diffusion().CreateSeeds(1)), reuseRowObject: false).Single();
        Assert.AreEqual(64, row.Pixels.Length);
        Assert.IsTrue(row.Pixels.All(p => p is >= 0 and <= 255 && p == MathF.Round(p)), "whole numbers 0 to 255");
    }

    public sealed class GrayOutput
    {
        [VectorType(1, 8, 8)]
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void Fit_ContextSeed_MakesTrainingReproducible()
    {
        float[] Weights(int contextSeed)
        {
            var ml = new MLContext(seed: contextSeed);
            using var model = ColorPipeline(ml, Tiny).Fit(ml.Data.LoadFromEnumerable(s_rows)).LastTransformer;
            return [.. model.Network.parameters().SelectMany(p => p.data<float>().ToArray())];
        }

        var first = Weights(1);
        CollectionAssert.AreEqual(first, Weights(1));
        CollectionAssert.AreNotEqual(first, Weights(2));
    }

    /// <summary>
    /// The whole fitted chain saves with ML.NET's own Save (the diffusion stage hands off to built-in transformers) and
    /// loads in a fresh context; its first stages need Path, so generation takes the loaded chain's last transformer.
    /// </summary>
    [TestMethod]
    public void ModelSave_WholeChain_LoadedLastTransformerGeneratesTheLiveImages()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(s_rows);
        var fitted = ColorPipeline(ml, Tiny with { MaxSteps = 2 }).Fit(data);
        using var model = fitted.LastTransformer;
        model.TransformOptions = new GenerationOptions { Steps = 5 };
        var path = s_images.File("whole-chain.zip");
        File.WriteAllText(path, "the previous model");
        ml.Diffusion().SaveModel(fitted, data.Schema, path);

        var other = new MLContext();
        var loaded = (TransformerChain<ITransformer>)other.Model.Load(path, out var schema);
        try
        {
            Assert.AreEqual("Path", schema["Path"].Name);
            var generator = loaded.LastTransformer;
            var seeds = other.Diffusion().CreateSeeds(2, firstSeed: 3, labels: [1]);
            var fromFile = other.Data.CreateEnumerable<GeneratedOutput>(generator.Transform(seeds), reuseRowObject: false).ToList();
            var live = ml.Data.CreateEnumerable<GeneratedOutput>(model.Transform(seeds), reuseRowObject: false).ToList();
            for (var i = 0; i < 2; i++)
            {
                var close = live[i].Pixels.Zip(fromFile[i].Pixels, (a, b) => Math.Abs(a - b) <= 2).Count(c => c);
                Assert.IsGreaterThanOrEqualTo(0.99 * live[i].Pixels.Length, close, $"row {i}");
                Assert.AreEqual((8, 8), (fromFile[i].Image.Width, fromFile[i].Image.Height));
            }

            using var full = other.Diffusion().LoadModel(path, "cpu");
            Assert.AreEqual(model.ParameterCount, full.ParameterCount);
        }
        finally
        {
            loaded.Dispose();
        }
    }

    /// <summary>A model that cannot become a graph (DDPM draws noise every step) is refused, and the old file survives.</summary>
    [TestMethod]
    public void SaveModel_ASamplerAGraphCannotHold_IsRefusedAndTheOldFileSurvives()
    {
        var ml = new MLContext(seed: 1);
        using var model = ColorPipeline(ml, Tiny with { MaxSteps = 1 }).Fit(ml.Data.LoadFromEnumerable(s_rows)).LastTransformer;
        model.TransformOptions = new GenerationOptions { Sampler = SamplerKind.Ddpm };
        var path = s_images.File("kept.zip");
        File.WriteAllText(path, "the previous model");
        var error = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveModel(model, ml.Diffusion().CreateSeeds(1).Schema, path));
        StringAssert.Contains(error.Message, "DPM-Solver++, DDIM (η = 0), Heun or Euler");
        Assert.AreEqual("the previous model", File.ReadAllText(path));
    }

    /// <summary>
    /// A whole fitted training chain given a seeds schema is refused before anything is written, naming the stage that cannot
    /// read the seeds and LastTransformer. ML.NET's own Save writes such a chain, which fails only when applied (docs/pipeline.md).
    /// </summary>
    [TestMethod]
    public void SaveModel_WholeTrainingChainWithASeedsSchema_IsRefusedNamingTheStageAndLastTransformer()
    {
        var ml = new MLContext(seed: 1);
        var fitted = ColorPipeline(ml, Tiny with { MaxSteps = 1 }).Fit(ml.Data.LoadFromEnumerable(s_rows));
        using var model = fitted.LastTransformer;
        var path = s_images.File("refused-chain.zip");
        File.WriteAllText(path, "the previous model");

        var seeds = ml.Diffusion().CreateSeeds(count: 2, labels: [1]);
        var error = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveModel(fitted, seeds.Schema, path));
        StringAssert.StartsWith(error.Message, "Stage 1 of the chain's 5 (ValueToKeyMappingTransformer) cannot be applied to the input schema given ('Seed' Int64, 'Label' Int32): ");
        StringAssert.Contains(error.Message, "Save the generator alone with the seeds' schema: SaveModel(model.LastTransformer, seeds.Schema, path)");
        Assert.AreEqual("inputSchema", error.ParamName);
        Assert.AreEqual("the previous model", File.ReadAllText(path), "nothing was written");
        var unconditional = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveModel(fitted, ml.Diffusion().CreateSeeds(2).Schema, path));
        StringAssert.StartsWith(unconditional.Message, "Stage 1 of the chain's 5 (ValueToKeyMappingTransformer) cannot be applied to the input schema given ('Seed' Int64): ");

        // ML.NET's own Save cannot be intercepted: it writes the chain, which fails on the seeds it was saved for.
        var modelPath = s_images.File("whole-chain-for-seeds.zip");
        ml.Model.Save(fitted, seeds.Schema, modelPath);
        var loaded = new MLContext().Model.Load(modelPath, out _);
        var applied = Assert.ThrowsExactly<InvalidOperationException>(() => loaded.Transform(seeds));
        Assert.AreEqual("Could not apply a map over type 'String' to column 'Label' since it has type 'Int32'", applied.Message);
        (loaded as IDisposable)?.Dispose();

        // The fix: the generator alone, which takes the seeds.
        ml.Model.Save(fitted.LastTransformer, seeds.Schema, modelPath);
        var generator = new MLContext().Model.Load(modelPath, out _);
        Assert.AreEqual(2, ml.Data.CreateEnumerable<GeneratedOutput>(generator.Transform(seeds), reuseRowObject: false).Count());
        (generator as IDisposable)?.Dispose();
    }

    [TestMethod]
    public void Fit_FromAStreamingView_ResumesToTheSameRun()
    {
        // LoadFromEnumerable cannot shuffle: passes are pool-shuffled from (seed, pass), and a resumed pass skips what was read.
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        var random = new Random(5);
        var rows = Enumerable.Range(0, 6).Select(_ => new PixelRow { Pixels = [.. Enumerable.Range(0, 64).Select(_ => (float)((random.NextDouble() * 2) - 1))] }).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        var options = Tiny with { Seed = 4, MaxSteps = 6, BatchSize = 4, CheckpointDirectory = folder.Path, CheckpointEvery = 3, ShufflePoolSize = 4 };
        using var straight = ml.Diffusion().Train(options).Fit(view);
        using var resumed = ml.Diffusion().Train(options with { ResumeFrom = TrainingCheckpoint.PathFor(folder.Path, 3) }).Fit(view);
        CollectionAssert.AreEqual(
            straight.Network.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray(),
            resumed.Network.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray());
    }

    [TestMethod]
    public void Fit_ResumeFrom_AppliesTheOptionsThatMayChangeAndRefusesThoseThatDefineTheRun()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(s_rows);
        var options = Tiny with { Seed = 3, MaxSteps = 2, CheckpointDirectory = folder.Path, CheckpointEvery = 2 };
        using (ColorPipeline(ml, options).Fit(data).LastTransformer)
        {
        }

        var checkpoint = TrainingCheckpoint.PathFor(folder.Path, 2);
        var error = Assert.ThrowsExactly<ArgumentException>(() => ColorPipeline(ml, options with { ResumeFrom = checkpoint, MaxSteps = 4, BatchSize = 2 }).Fit(data));
        StringAssert.Contains(error.Message, "BatchSize is 4 in the checkpoint but 2 in the options");
        Assert.AreEqual(1, TrainingCheckpoint.List(folder.Path).Count, "nothing was trained");

        // The same Options with a lower learning rate and more steps (a null seed keeps the checkpoint's).
        using (var resumed = ColorPipeline(ml, options with { ResumeFrom = checkpoint, MaxSteps = 4, LearningRate = 1e-5, Seed = null }).Fit(data).LastTransformer)
        {
            Assert.AreEqual((4L, 3UL), (resumed.Training!.Steps, resumed.Training.Seed));
        }

        var recorded = TrainingCheckpoint.Read(TrainingCheckpoint.PathFor(folder.Path, 4)).Options;
        Assert.AreEqual((1e-5, 4L, 3UL), (recorded.LearningRate, recorded.MaxSteps, recorded.Seed));

        // Options built from the checkpoint's own settings.
        var own = new DiffusionTrainer.Options(TrainingCheckpoint.Read(checkpoint).Options) { ResumeFrom = checkpoint, MaxSteps = 3 };
        using var fromOwn = ColorPipeline(ml, own).Fit(data).LastTransformer;
        Assert.AreEqual(3L, fromOwn.Training!.Steps);
    }

    public sealed class PixelRow
    {
        [VectorType(1, 8, 8)]
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void Fit_Options_CancelReportProgressAndFineTune()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(s_rows);
        using var cancel = new CancellationTokenSource();
        var steps = new List<long>();
        var progress = new Reporter(p =>
        {
            steps.Add(p.Step);
            if (p.Step == 2)
            {
                cancel.Cancel();
            }
        });
        var report = folder.File("report.html");
        using var model = ColorPipeline(ml, Tiny with { MaxSteps = 10, Progress = progress, CancellationToken = cancel.Token, ReportPath = report })
            .Fit(data).LastTransformer;
        CollectionAssert.AreEqual(new long[] { 1, 2 }, steps);
        Assert.AreEqual(2L, model.Training!.Steps);
        StringAssert.Contains(File.ReadAllText(report), "<svg");

        // Fine-tuning starts from the model's weights: with a learning rate of almost 0 they stay where they were.
        using var tuned = ColorPipeline(ml, Tiny with { InitialModel = model, LearningRate = 1e-30, MaxSteps = 1 }).Fit(data).LastTransformer;
        var before = model.Network.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        var after = tuned.Network.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        Assert.AreEqual(before.Length, after.Length);
        Assert.IsTrue(before.Zip(after).All(p => Math.Abs(p.First - p.Second) < 1e-6), "fine-tuned weights start from the model's");
    }

    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [TestMethod]
    public void Fit_GpuDeviceId_TrainsOnThatGpu_OrFallsBackToTheCpu_OrSaysCudaIsMissing()
    {
        var data = new MLContext().Data.LoadFromEnumerable(s_rows);
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
        using var model = ColorPipeline(ml, Tiny with { Device = "auto", MaxSteps = 1 }).Fit(data).LastTransformer;
        var device = model.Network.parameters().First().device;
        if (TorchSharp.torch.cuda.is_available())
        {
            // With a GPU the context's id is the device trained on.
            Assert.AreEqual((TorchSharp.DeviceType.CUDA, 0), (device.type, device.index));
            return;
        }

        Assert.AreEqual(TorchSharp.DeviceType.CPU, device.type);
        var strict = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ColorPipeline(strict, Tiny with { Device = "auto", MaxSteps = 1 }).Fit(data));
        StringAssert.Contains(error.Message, "CUDA");
    }
}
