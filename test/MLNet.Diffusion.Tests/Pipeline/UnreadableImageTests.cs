using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Pipeline;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>
/// An image that cannot be decoded inside an ML.NET pipeline feeding the trainer (getting-started's pipeline: MapValueToKey,
/// LoadImages, ResizeImages, ExtractPixels) is named by its row and path, not by ML.NET's worker-thread wrapper.
/// </summary>
[TestClass]
public sealed class UnreadableImageTests
{
    public sealed class ImageRow
    {
        public string Path { get; set; } = "";

        public string Label { get; set; } = "";
    }

    private static DiffusionTrainer.Options Tiny => new()
    {
        ModelPreset = "tiny", BatchSize = 4, MaxSteps = 1, WarmupSteps = 1, SampleGridSize = 0, Device = "cpu", Schedule = new() { TrainTimesteps = 50 },
    };

    // good.png and the bad file in one folder; the rows point at good.png except row `bad`.
    private static List<ImageRow> Rows(TempFolder folder, int count, int bad, byte[] badBytes)
    {
        ImageCodec.SavePng(TestImages.Solid(10, 10, [30, 90, 200]), folder.File("good.png"));
        folder.Write("bad.png", badBytes);
        return [.. Enumerable.Range(0, count).Select(i => new ImageRow { Path = i == bad ? "bad.png" : "good.png", Label = i % 2 == 0 ? "a" : "b" })];
    }

    private static byte[] TextFile => "not an image"u8.ToArray();

    // A PNG signature followed by junk. (A truncated PNG is no error to ML.NET's LoadImages: it decodes the rows that are
    // there and leaves the rest transparent black, docs/images.md, so there is nothing to name.)
    private static byte[] DamagedPng => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. "junk where the header should be"u8.ToArray()];

    private static EstimatorChain<DiffusionModel> Pipeline(MLContext ml, string folder, DiffusionTrainer.Options options, bool dropPath = false)
    {
        var images = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", folder, "Path"))
            .Append(ml.Transforms.ResizeImages("Image", 8, 8))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f));
        return dropPath
            ? images.Append(ml.Transforms.DropColumns("Path")).Append(ml.Diffusion().Train(options))
            : images.Append(ml.Diffusion().Train(options));
    }

    [TestMethod]
    public void Fit_TextFileNamedPngInTheFirstBatch_NamesItsRowAndPathBeforeTraining()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        var progress = 0;

        var error = Assert.ThrowsExactly<InvalidDataException>(() =>
            Pipeline(ml, folder.Path, Tiny with { Progress = new Synchronous(_ => progress++) }).Fit(ml.Data.LoadFromEnumerable(Rows(folder, 12, 1, TextFile))));

        StringAssert.StartsWith(error.Message, "Row 1 of the training data (Path 'bad.png') cannot be read: reading column 'Pixels' threw ArgumentException: Invalid input stream contents");
        StringAssert.Contains(error.Message, "Remove or repair that file (or leave its row out of the data), then train again.");
        Assert.IsNotNull(error.InnerException, "ML.NET's exception stays as the inner one");
        Assert.AreEqual(0, progress, "no step was trained");
    }

    [TestMethod]
    public void Fit_DamagedPngPastTheFirstBatch_NamesItsRowAndPathWhenTrainingReachesIt()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);

        // The first batch (rows 0 to 3) is good; the pool shuffle of step 1 reads row 150.
        var error = Assert.ThrowsExactly<InvalidDataException>(() =>
            Pipeline(ml, folder.Path, Tiny).Fit(ml.Data.LoadFromEnumerable(Rows(folder, 200, 150, DamagedPng))));

        StringAssert.StartsWith(error.Message, "Row 150 of the training data (Path 'bad.png') cannot be read: reading column 'Pixels' threw ArgumentException: ");
        StringAssert.Contains(error.StackTrace, nameof(DataViewTrainingData), "raised by a training pass, not the first-batch check");
        Assert.IsNotNull(error.InnerException);
        Console.WriteLine(error.Message);
    }

    [TestMethod]
    public void Fit_NoPathColumn_NamesTheRowOnly()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);

        var error = Assert.ThrowsExactly<InvalidDataException>(() =>
            Pipeline(ml, folder.Path, Tiny, dropPath: true).Fit(ml.Data.LoadFromEnumerable(Rows(folder, 8, 2, TextFile))));

        StringAssert.StartsWith(error.Message, "Row 2 of the training data cannot be read: reading column 'Pixels' threw ArgumentException: ");
        StringAssert.Contains(error.Message, "Remove or repair that row's image");
    }

    [TestMethod]
    [DataRow("Path,Label", "Path")]
    [DataRow("File,ImagePATH", "ImagePATH")]
    [DataRow("File", "File")]
    [DataRow("File,Name", null)]
    [DataRow("", null)]
    public void PathColumn_PrefersANameWithPath_ElseTheOnlyTextColumn(string textColumns, string? expected)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var name in textColumns.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            builder.AddColumn(name, TextDataViewType.Instance);
        }

        builder.AddColumn("Pixels", new VectorDataViewType(NumberDataViewType.Single, 3, 8, 8));

        Assert.AreEqual(expected, UnreadableRow.PathColumn(builder.ToSchema())?.Name);
    }

    private sealed class Synchronous(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
