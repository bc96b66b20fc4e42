using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>Every kind of unfit input fails before the first training step, with one message naming the column and the fix.</summary>
[TestClass]
public sealed class SchemaCheckTests
{
    private static TempFolder s_images = null!;
    private static MLContext s_ml = null!;
    private static IDataView s_rows = null!;

    public sealed class ImageRow
    {
        public string Path { get; set; } = "";

        public string Label { get; set; } = "";

        public int Class { get; set; }
    }

    [ClassInitialize]
    public static void WriteImages(TestContext context)
    {
        s_images = new TempFolder();
        var rows = new List<ImageRow>();
        for (var i = 0; i < 4; i++)
        {
            var file = $"{i}.png";
            ImageCodec.SavePng(TestImages.Solid(10, 10, [(byte)(60 * i), 90, 200]), s_images.File(file));
            rows.Add(new ImageRow { Path = file, Label = i % 2 == 0 ? "even" : "odd", Class = i % 2 });
        }

        s_ml = new MLContext(seed: 1);
        s_rows = s_ml.Data.LoadFromEnumerable(rows);
    }

    [ClassCleanup]
    public static void Cleanup() => s_images.Dispose();

    private static DiffusionTrainer.Options Tiny => new()
    {
        ModelPreset = "tiny", BatchSize = 4, MaxSteps = 1, WarmupSteps = 1, SampleGridSize = 0, Device = "cpu", Schedule = new() { TrainTimesteps = 20 },
    };

    private static IEstimator<ITransformer> Load => s_ml.Transforms.LoadImages("Image", s_images.Path, "Path");

    private static ImagePixelExtractingEstimator Extract(bool interleave = false, float offset = 127.5f, float scale = 1 / 127.5f) =>
        s_ml.Transforms.ExtractPixels("Pixels", "Image", interleavePixelColors: interleave, offsetImage: offset, scaleImage: scale);

    private static ImageResizingEstimator Resize(int width, int height) => s_ml.Transforms.ResizeImages("Image", width, height);

    // Fits the chain, expecting one ArgumentException whose message has every part; returns the message.
    private static string Expect(EstimatorChain<DiffusionModel> chain, params string[] parts)
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => chain.Fit(s_rows));
        foreach (var part in parts)
        {
            StringAssert.Contains(error.Message, part);
        }

        Assert.AreEqual("input", error.ParamName);
        return error.Message;
    }

    private static EstimatorChain<DiffusionModel> Then(IEstimator<ITransformer> chain, DiffusionTrainer.Options options) =>
        chain.Append(s_ml.Diffusion().Train(options));

    [TestMethod]
    public void MissingPixelColumn_NamesItAndWhatThereIs() =>
        Expect(Then(Load.Append(Resize(8, 8)).Append(Extract()), Tiny with { FeatureColumnName = "Features" }),
            "Column 'Features' (training images) not found", "'Pixels'", "Train(featureColumnName: ...) or Options.FeatureColumnName");

    [TestMethod]
    public void VariableSizeVector_AsksForResizeImages_BeforeFitting()
    {
        // (ExtractPixels refuses images of unknown size itself; a vector of unknown size comes from one's own data.) Seen in
        // the schema shape, which EstimatorChain.Fit propagates before it fits the first estimator.
        var vectors = s_ml.Data.LoadFromEnumerable(new[] { new UnsizedRow { Pixels = new float[64] } });
        var error = Assert.ThrowsExactly<ArgumentException>(() => s_ml.Transforms.CopyColumns("Copy", "Pixels").Append(s_ml.Diffusion().Train(Tiny)).Fit(vectors));
        StringAssert.Contains(error.Message, "Column 'Pixels' holds a vector of variable size");
        StringAssert.Contains(error.Message, "ResizeImages");
        StringAssert.Contains(error.StackTrace, "DiffusionTrainer.GetOutputSchema");
    }

    public sealed class UnsizedRow
    {
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void InterleavedPixels_AsksForPlanar() =>
        Expect(Then(Load.Append(Resize(8, 8)).Append(Extract(interleave: true)), Tiny), "[8, 8, 3] (colors interleaved, [H, W, C])", "interleavePixelColors: false");

    [TestMethod]
    public void NonSquareImages_AskForASquare() =>
        Expect(Then(Load.Append(Resize(8, 6)).Append(Extract()), Tiny), "8×6 images", "Resize them to a square: ResizeImages(..., imageWidth: 6, imageHeight: 6)");

    [TestMethod]
    public void PixelsNotInMinusOneToOne_AskForTheOffsetAndScale() =>
        Expect(Then(Load.Append(Resize(8, 8)).Append(Extract(offset: 0, scale: 1)), Tiny), "holds pixels from", "to 200 in its first rows",
            "offsetImage: 127.5f, scaleImage: 1 / 127.5f");

    [TestMethod]
    public void TextLabel_AsksForMapValueToKey_BeforeFitting()
    {
        var message = Expect(Then(Load.Append(Resize(8, 8)).Append(Extract()), Tiny with { LabelColumnName = "Label" }), "Column 'Label' holds", "MapValueToKey(\"Label\")");
        var error = Assert.ThrowsExactly<ArgumentException>(() => Then(Load.Append(Resize(8, 8)).Append(Extract()), Tiny with { LabelColumnName = "Label" }).Fit(s_rows));
        Assert.AreEqual(message, error.Message);
        StringAssert.Contains(error.StackTrace, "DiffusionTrainer.GetOutputSchema");
    }

    [TestMethod]
    public void MissingLabelColumn_NamesIt() =>
        Expect(Then(Load.Append(Resize(8, 8)).Append(Extract()), Tiny with { LabelColumnName = "Kind" }), "Column 'Kind' (class labels) not found");

    [TestMethod]
    public void ModelConfiguration_OfAnotherSize_IsNamed() =>
        Expect(Then(Load.Append(Resize(8, 8)).Append(Extract()), Tiny with { Model = UNetConfig.Preset("tiny", 16, 3) }), "3×8×8 images", "The model takes 3×16×16");

    [TestMethod]
    public void IntegerLabels_TrainAsClasses_AndKeysToo()
    {
        using var integers = s_ml.Transforms.LoadImages("Image", s_images.Path, "Path").Append(Resize(8, 8)).Append(Extract())
            .Append(s_ml.Diffusion().Train(Tiny with { LabelColumnName = "Class" })).Fit(s_rows).LastTransformer;
        Assert.AreEqual(2, integers.Config.NumClasses);
        using var keys = s_ml.Transforms.Conversion.MapValueToKey("Label").Append(Load).Append(Resize(8, 8)).Append(Extract())
            .Append(s_ml.Diffusion().Train(Tiny with { LabelColumnName = "Label" })).Fit(s_rows).LastTransformer;
        Assert.AreEqual(2, keys.Config.NumClasses);
    }

    [TestMethod]
    public void Transform_WithoutSeedOrTrainingColumn_NamesTheSeedColumn()
    {
        using var model = Load.Append(Resize(8, 8)).Append(Extract()).Append(s_ml.Diffusion().Train(Tiny)).Fit(s_rows).LastTransformer;
        var error = Assert.ThrowsExactly<ArgumentException>(() => model.Transform(s_rows));
        StringAssert.Contains(error.Message, "Column 'Seed' not found");
        StringAssert.Contains(error.Message, "CreateSeeds");
    }
}
