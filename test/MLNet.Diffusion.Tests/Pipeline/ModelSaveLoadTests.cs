using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Onnx;
using MLNet.Diffusion.Tests.Onnx;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>
/// <c>mlContext.Model.Save</c> and <c>Load</c> on the generator: the zip holds ML.NET's built-in transformers around the
/// ONNX graph, and a fresh context maps a seeds view to the images the live transformer makes.
/// </summary>
[TestClass]
public sealed class ModelSaveLoadTests
{
    private static DiffusionModel? s_model;
    private static TempFolder s_folder = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_model = GeneratorGraphTests.Train(channels: 1, classes: 3, PredictionType.Epsilon, BetaScheduleKind.Cosine);
        s_model.TransformOptions = new GenerationOptions { Steps = 8, Guidance = 2 };
        s_folder = new TempFolder();
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        s_model?.Dispose();
        s_folder.Dispose();
    }

    [TestMethod]
    public void ModelSave_ThenLoadInAFreshContext_GeneratesTheSameImages()
    {
        var ml = new MLContext(seed: 1);
        var seeds = ml.Diffusion().CreateSeeds(6, firstSeed: 40, labels: [0, 1, 2]);
        var path = s_folder.File("generator.zip");
        ml.Model.Save(s_model!, seeds.Schema, path);

        var other = new MLContext();
        var loaded = other.Model.Load(path, out var schema);
        try
        {
            Assert.IsFalse(loaded.GetType().Assembly.GetName().Name!.StartsWith("MLNet.Diffusion", StringComparison.Ordinal));
            Assert.AreEqual(NumberDataViewType.Int64, schema["Seed"].Type);
            var live = Pixels(s_model!.Transform(seeds));
            var reloaded = Pixels(loaded.Transform(other.Diffusion().CreateSeeds(6, firstSeed: 40, labels: [0, 1, 2])));
            Assert.HasCount(live.Count, reloaded);
            using var onnx = new OnnxGenerator(s_model.ToOnnx());
            var direct = onnx.Generate([40, 41, 42, 43, 44, 45], [0, 1, 2, 0, 1, 2]);
            CollectionAssert.AreEqual(direct, reloaded.SelectMany(p => p).ToArray(), "ML.NET's OnnxTransformer runs the same graph");
            var differences = live.SelectMany(p => p).Zip(direct, (a, b) => Math.Abs(a - b)).ToArray();
            Assert.IsGreaterThanOrEqualTo(0.99, differences.Count(d => d <= 2) / (double)differences.Length);
            var images = Images(loaded.Transform(other.Diffusion().CreateSeeds(2, firstSeed: 40, labels: [0])));
            var first = images[0];
            Assert.AreEqual(8, first.Width);
            var pixel = first.Pixels;
            Assert.AreEqual(live[0][0], pixel[(int)ChannelOffset(first, 'R')], "gray repeated into red");
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>LoadModel restores the sampler settings fixed in the graph, so both readers of one file make the same images.</summary>
    [TestMethod]
    public void ClassColumn_NamesTheClasses_LiveAndInAnAppWithMLNetOnly()
    {
        var ml = new MLContext(seed: 1);
        var seeds = ml.Diffusion().CreateSeeds(4, firstSeed: 40, labels: [2, -1, 0, 1]);
        var path = s_folder.File("named.zip");
        string[] names = ["ant", "bee", "cat"];
        s_model!.ClassNames = names;
        try
        {
            ml.Model.Save(s_model, seeds.Schema, path);
            var live = s_model.Transform(seeds);
            var loaded = new MLContext().Model.Load(path, out var seedsSchema);
            try
            {
                // What an app without this library does: the names are the class column's key values in the output schema.
                foreach (var (engine, schema, view) in new[] { ("live", live.Schema, live), ("loaded", loaded.GetOutputSchema(seedsSchema), loaded.Transform(seeds)) })
                {
                    var column = schema["ClassName"];
                    Assert.AreEqual(new KeyDataViewType(typeof(uint), 3), column.Type, engine);
                    VBuffer<ReadOnlyMemory<char>> keyValues = default;
                    column.GetKeyValues(ref keyValues);
                    CollectionAssert.AreEqual(names, keyValues.DenseValues().Select(v => v.ToString()).ToArray(), engine);
                    CollectionAssert.AreEqual(new uint[] { 3, 0, 1, 2 }, view.GetColumn<uint>("ClassName").ToArray(), $"{engine}: class c is key c + 1, −1 the missing key");
                }
            }
            finally
            {
                (loaded as IDisposable)?.Dispose();
            }
        }
        finally
        {
            s_model.ClassNames = null;
        }
    }

    [TestMethod]
    public void CreateSeeds_WithClassNames_GeneratesTheClassesOfThoseNumbers()
    {
        var ml = new MLContext(seed: 1);
        s_model!.ClassNames = ["ant", "bee", "cat"];
        try
        {
            var named = ml.Diffusion().CreateSeeds(3, firstSeed: 40, labels: ["cat", "ant"]);
            var numbered = ml.Diffusion().CreateSeeds(3, firstSeed: 40, labels: [2, 0]);
            var byName = s_model.Transform(named);
            CollectionAssert.AreEqual(Pixels(s_model.Transform(numbered)).SelectMany(p => p).ToArray(), Pixels(byName).SelectMany(p => p).ToArray());
            CollectionAssert.AreEqual(new uint[] { 3, 1, 3 }, byName.GetColumn<uint>("ClassName").ToArray());

            var unknown = s_model.Transform(ml.Diffusion().CreateSeeds(2, firstSeed: 40, labels: ["ant", "dog"]));
            var error = Assert.ThrowsExactly<InvalidDataException>(() => Pixels(unknown));
            StringAssert.Contains(error.Message, "Row 1: 'dog' in column 'Label' is not a class of this model; its classes are ant, bee, cat.");

            // A saved model maps no names (ML.NET's MapValue would make an unknown one class 0): saving with such a schema is refused.
            var refused = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveModel(s_model, named.Schema, s_folder.File("names.zip")));
            StringAssert.Contains(refused.Message, "holds class names; a saved generator takes its classes as Int32 or Int64 numbers");
            Assert.IsFalse(File.Exists(s_folder.File("names.zip")));
        }
        finally
        {
            s_model.ClassNames = null;
        }

        var noNames = Assert.ThrowsExactly<ArgumentException>(() => s_model.Transform(ml.Diffusion().CreateSeeds(1, firstSeed: 0, labels: ["ant"])));
        StringAssert.Contains(noNames.Message, "holds class names, but this model records none");
        Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().CreateSeeds(1, firstSeed: 0, labels: Array.Empty<string>()));
    }

    [TestMethod]
    public void LoadModel_RestoresTheSettingsFixedInTheGraph()
    {
        var path = s_folder.File("settings.zip");
        var ml = new MLContext();
        var seeds = ml.Diffusion().CreateSeeds(3, firstSeed: 9, labels: [1, 2]);
        var before = s_model!.TransformOptions;
        s_model.TransformOptions = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 5, Guidance = 3 };
        try
        {
            ml.Diffusion().SaveModel(s_model, seeds.Schema, path);
        }
        finally
        {
            s_model.TransformOptions = before;
        }

        using var full = ml.Diffusion().LoadModel(path, "cpu");
        Assert.AreEqual((SamplerKind.Ddim, (int?)5, 3.0), (full.TransformOptions.Sampler, full.TransformOptions.Steps, full.TransformOptions.Guidance));
        var loaded = ml.Model.Load(path, out _);
        try
        {
            var fromGraph = Pixels(loaded.Transform(seeds)).SelectMany(p => p).ToArray();
            var fromFull = Pixels(full.Transform(seeds)).SelectMany(p => p).ToArray();
            Assert.IsGreaterThanOrEqualTo(0.99, fromGraph.Zip(fromFull, (a, b) => Math.Abs(a - b) <= 2).Count(c => c) / (double)fromGraph.Length);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>SaveModel refuses a seeds schema the saved transformers could not run on, and writes nothing.</summary>
    [TestMethod]
    public void SaveModel_ASeedsSchemaTheSavedModelCannotRead_IsRefused()
    {
        var ml = new MLContext();
        var path = s_folder.File("refused.zip");
        var unsigned = ml.Data.LoadFromEnumerable(new[] { new UnsignedSeed { Seed = 1, Label = 0 } });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveModel(s_model!, unsigned.Schema, path)).Message,
            "Column 'Seed' holds UInt32; a saved generator takes its seeds (≥ 0) as Int32 or Int64");
        var noLabel = ml.Data.LoadFromEnumerable(new[] { new LabelRow { Label = 0 } }.Select(_ => new { Seed = 1L }));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().SaveModel(s_model!, noLabel.Schema, path)).Message,
            "The model is class-conditional and the seeds schema has no 'Label' column");
        Assert.IsFalse(File.Exists(path));
    }

    private sealed class UnsignedSeed
    {
        public uint Seed { get; set; }

        public int Label { get; set; }
    }

    /// <summary>Four threads generating from one loaded model at once give the bytes one thread gives, on both engines.</summary>
    [TestMethod]
    public void FourThreadsAtOnce_GiveTheImagesOfOneThread()
    {
        var path = s_folder.File("threads.zip");
        var ml = new MLContext();
        var seeds = ml.Diffusion().CreateSeeds(4, firstSeed: 100, labels: [2, 1]);
        ml.Model.Save(s_model!, seeds.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        try
        {
            float[] Mlnet(int first) => [.. Pixels(loaded.Transform(ml.Diffusion().CreateSeeds(4, firstSeed: first, labels: [2, 1]))).SelectMany(p => p)];
            using var onnx = new OnnxGenerator(s_model!.ToOnnx());
            float[] Onnx(int first) => onnx.Generate([first, first + 1, first + 2, first + 3], [2, 1, 2, 1]);
            float[] Torch(int first) => s_model!.GeneratePixels([.. Enumerable.Range(first, 4).Select(i => (ulong)i)], [2, 1, 2, 1]);
            foreach (var (name, engine) in new (string, Func<int, float[]>)[] { ("ML.NET", Mlnet), ("ONNX Runtime", Onnx), ("TorchSharp", Torch) })
            {
                var alone = Enumerable.Range(0, 4).Select(t => engine(100 + (10 * t))).ToArray();
                var together = new float[4][];
                Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t => together[t] = engine(100 + (10 * t)));
                for (var t = 0; t < 4; t++)
                {
                    CollectionAssert.AreEqual(alone[t], together[t], $"{name}, thread {t}");
                }
            }
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>Loading a saved model 100 times, through ML.NET or into a full model, leaves no temporary files behind.</summary>
    [TestMethod]
    public void Load100Times_LeavesNoTemporaryFiles()
    {
        using var temp = new TempFolder();
        var path = s_folder.File("hundred.zip");
        var ml = new MLContext { TempFilePath = temp.Path };
        ml.Diffusion().SaveModel(s_model!, ml.Diffusion().CreateSeeds(1, labels: [0]).Schema, path);
        string[] Ours() => Directory.GetFiles(Path.GetTempPath(), $"mlnet-diffusion-{Environment.ProcessId}-*");
        Assert.IsEmpty(Ours(), "the save's own graph file is deleted");
        for (var i = 0; i < 100; i++)
        {
            var loaded = ml.Model.Load(path, out _);
            (loaded as IDisposable)?.Dispose();
            using var full = ml.Diffusion().LoadModel(path, "cpu");
        }

        Assert.IsEmpty(Directory.GetFileSystemEntries(temp.Path), "ML.NET's copies of the graph are deleted when the loaded model is disposed");
        Assert.IsEmpty(Ours());
    }

    /// <summary>
    /// The loaded transformers convert labels with ML.NET's ConvertType, which takes any integer column and refuses a
    /// key column with its own message (what docs/pipeline.md says: pass class numbers).
    /// </summary>
    [TestMethod]
    public void LoadedModel_TakesClassNumbers_AndRefusesAKeyColumn()
    {
        var path = s_folder.File("keys.zip");
        var ml = new MLContext();
        ml.Diffusion().SaveModel(s_model!, ml.Diffusion().CreateSeeds(1, labels: [0]).Schema, path);
        var loaded = ml.Model.Load(path, out _);
        try
        {
            var numbers = ml.Diffusion().CreateSeeds(3, firstSeed: 5, labels: [0, 1, 2]);
            var wide = ml.Transforms.Conversion.ConvertType("Label", outputKind: DataKind.Int64).Fit(numbers).Transform(numbers);
            CollectionAssert.AreEqual(Pixels(loaded.Transform(numbers)).SelectMany(p => p).ToArray(), Pixels(loaded.Transform(wide)).SelectMany(p => p).ToArray());
            var keys = ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(new[] { 0, 1, 2 }.Select(l => new LabelRow { Label = l })))
                .Fit(numbers).Transform(numbers);
            var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => loaded.Transform(keys));
            StringAssert.Contains(error.Message, "source column 'Label' with item type 'Key<UInt32, 0-2>' is not compatible with destination type 'Int64'");
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// −1 in a label column asks for an unconditional image, in the live model and in the saved one alike: in a labelled,
    /// guided batch such a row is its seed's unconditional image (so is a missing key, and a row of a PredictionEngine),
    /// and the loaded zip makes the same images. −2 and a label past the classes are refused by both.
    /// </summary>
    [TestMethod]
    public void UnconditionalLabel_AmongLabels_GivesTheSeedsUnconditionalImage_LiveAndLoaded()
    {
        var ml = new MLContext();
        const int None = GenerationOptions.UnconditionalLabel;
        var seeds = ml.Diffusion().CreateSeeds(4, firstSeed: 70, labels: [None, 1]);
        var live = Pixels(s_model!.Transform(seeds));
        var unconditional = Pixels(s_model.Transform(ml.Diffusion().CreateSeeds(4, firstSeed: 70)));
        var labelled = Pixels(s_model.Transform(ml.Diffusion().CreateSeeds(4, firstSeed: 70, labels: [1])));
        for (var i = 0; i < 4; i++)
        {
            CollectionAssert.AreEqual(i % 2 == 0 ? unconditional[i] : labelled[i], live[i], $"row {i} (seed {70 + i})");
        }

        CollectionAssert.AreNotEqual(unconditional[1], labelled[1], "the label changes the image");
        var engine = ml.Model.CreatePredictionEngine<PipelineDocsTests.SeedInput, PipelineDocsTests.VectorRow>(s_model, ignoreMissingColumns: true);
        CollectionAssert.AreEqual(unconditional[2], engine.Predict(new PipelineDocsTests.SeedInput { Seed = 72, Label = None }).Pixels, "one row at a time");
        var keys = ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(new[] { 0, 1, 2 }.Select(l => new LabelRow { Label = l })))
            .Fit(seeds).Transform(seeds);  // −1 is not among the key's values: a missing key, 0
        CollectionAssert.AreEqual(live.SelectMany(p => p).ToArray(), Pixels(s_model.Transform(keys)).SelectMany(p => p).ToArray(), "a missing key");
        var path = s_folder.File("unconditional.zip");
        ml.Diffusion().SaveModel(s_model, seeds.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        try
        {
            using var onnx = new OnnxGenerator(s_model.ToOnnx());
            var direct = onnx.Generate([70, 71, 72, 73], [None, 1, None, 1]);
            var reloaded = Pixels(loaded.Transform(seeds)).SelectMany(p => p).ToArray();
            CollectionAssert.AreEqual(direct, reloaded);
            var differences = live.SelectMany(p => p).Zip(reloaded, (a, b) => Math.Abs(a - b)).ToArray();
            Assert.IsGreaterThanOrEqualTo(0.99, differences.Count(d => d <= 2) / (double)differences.Length);
            foreach (var bad in new long[] { -2, 3 })  // ONNX's Gather would take −2 as class 2, and 3 as the null label
            {
                var refused = Assert.Throws<Exception>(() => onnx.Generate([70], [bad]), $"label {bad}");
                StringAssert.Contains(refused.Message, "out of data bounds");
            }
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }

        Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().CreateSeeds(2, labels: [-2]));
        var error = Assert.ThrowsExactly<ArgumentException>(() => s_model.Generate(2, new GenerationOptions { Steps = 2, Labels = [None, -2] }));
        StringAssert.Contains(error.Message, "Labels must be in [0, 2], or -1 for an unconditional image; got -2");
    }

    private sealed class LabelRow
    {
        public int Label { get; set; }
    }

    private static long ChannelOffset(MLImage image, char channel) =>
        image.PixelFormat == MLPixelFormat.Bgra32 ? "BGRA".IndexOf(channel) : "RGBA".IndexOf(channel);

    private static List<float[]> Pixels(IDataView view)
    {
        var result = new List<float[]>();
        using var cursor = view.GetRowCursor([view.Schema["Pixels"]]);
        var getter = cursor.GetGetter<VBuffer<float>>(view.Schema["Pixels"]);
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            result.Add(value.DenseValues().ToArray());
        }

        return result;
    }

    private static List<MLImage> Images(IDataView view)
    {
        var result = new List<MLImage>();
        using var cursor = view.GetRowCursor([view.Schema["Image"]]);
        var getter = cursor.GetGetter<MLImage>(view.Schema["Image"]);
        while (cursor.MoveNext())
        {
            MLImage image = null!;
            getter(ref image);
            result.Add(image);
        }

        return result;
    }
}
