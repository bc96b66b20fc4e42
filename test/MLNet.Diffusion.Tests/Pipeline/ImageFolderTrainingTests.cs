using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Pipeline;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>Image folders through <c>mlContext.Diffusion().LoadImageFolder</c>: labels, pixels, resizing, errors, training.</summary>
[TestClass]
public sealed class ImageFolderTrainingTests
{
    private static readonly MLContext s_ml = new(seed: 1);

    private static ImageFolderDataView Open(string folder, int imageSize, int channels = 3, ImageResizeMode mode = ImageResizeMode.IsoCrop) =>
        (ImageFolderDataView)s_ml.Diffusion().LoadImageFolder(folder, imageSize, channels, mode);

    // The pixels (and the 0-based label, or −1) of the rows at the positions, in that order.
    private static (float[] Pixels, long[] Labels) Read(ImageFolderDataView view, params long[] positions)
    {
        using var cursor = view.GetRowCursor(view.Schema, positions);
        var pixels = cursor.GetGetter<VBuffer<float>>(view.Schema["Pixels"]);
        var label = view.Schema.GetColumnOrNull("Label") is { } column ? cursor.GetGetter<uint>(column) : null;
        var (values, labels) = (new List<float>(), new List<long>());
        var buffer = default(VBuffer<float>);
        uint key = 0;
        while (cursor.MoveNext())
        {
            pixels(ref buffer);
            values.AddRange(buffer.DenseValues());
            label?.Invoke(ref key);
            labels.Add(label is null ? -1 : key - 1L);
        }

        return ([.. values], [.. labels]);
    }

    [TestMethod]
    public void ClassFolders_GiveOrdinalLabelsShapesAndRange()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("zebra"));
        Directory.CreateDirectory(folder.File("Ant"));
        ImageCodec.SavePng(Solid(8, 8, [255, 0, 0]), folder.File(Path.Combine("zebra", "b.png")));
        TestImages.SaveJpeg(Solid(12, 12, [100]), folder.File(Path.Combine("zebra", "a.JPG")));
        ImageCodec.SavePng(Solid(8, 8, [0, 0, 255]), folder.File(Path.Combine("Ant", "x.png")));
        TestImages.SaveJpeg(Solid(8, 16, [10, 200, 30]), folder.File(Path.Combine("Ant", "y.jpeg")));
        File.WriteAllText(folder.File(Path.Combine("Ant", "notes.txt")), "not an image");

        var data = Open(folder.Path, imageSize: 8, channels: 3, ImageResizeMode.Fill);
        CollectionAssert.AreEqual(new[] { "Ant", "zebra" }, data.ClassNames.ToArray());
        Assert.AreEqual((4L, 2UL), (data.GetRowCount(), ((KeyDataViewType)data.Schema["Label"].Type).Count));
        Assert.AreEqual("Vector<Single, 3, 8, 8>", data.Schema["Pixels"].Type.ToString());
        CollectionAssert.AreEqual(new[] { "x.png", "y.jpeg", "a.JPG", "b.png" }, data.Files.Select(Path.GetFileName).ToArray());

        var (values, labels) = Read(data, 3, 0, 1, 2);
        Assert.AreEqual(4 * 3 * 8 * 8, values.Length);
        CollectionAssert.AreEqual(new long[] { 1, 0, 0, 1 }, labels);
        Assert.IsTrue(values.All(v => v is >= -1 and <= 1));

        // b.png is lossless pure red, 8×8 already: exactly 1, −1, −1 (x / 127.5 − 1).
        Assert.AreEqual(1f, values[0]);
        Assert.AreEqual(-1f, values[64]);
        Assert.AreEqual(-1f, values[128]);

        // a.JPG is gray 100, repeated into three channels and scaled down from 12×12.
        var gray = values.AsSpan(3 * 3 * 64, 3 * 64).ToArray();
        Assert.AreEqual((100 / 127.5) - 1, gray[0], 2 / 127.5);
        CollectionAssert.AreEqual(gray[..64], gray[64..128]);
        CollectionAssert.AreEqual(gray[..64], gray[128..]);
    }

    [TestMethod]
    public void GrayChannels_UseTheLumaWeights()
    {
        using var folder = new TempFolder();
        ImageCodec.SavePng(Solid(4, 4, [200, 100, 50]), folder.File("rgb.png"));
        var data = Open(folder.Path, imageSize: 4, channels: 1);
        var (values, labels) = Read(data, 0);
        Assert.AreEqual(16, values.Length);

        // 0.299·200 + 0.587·100 + 0.114·50 = 124.2.
        Assert.AreEqual((124.2 / 127.5) - 1, values[5], 1e-5);
        Assert.AreEqual(-1L, labels[0]);
        Assert.IsNull(data.Schema.GetColumnOrNull("Label"));
        Assert.AreEqual(0, data.ClassNames.Count);
    }

    [TestMethod]
    [DataRow(ImageResizeMode.Fill, 0, 0, -1f, DisplayName = "Fill: stretched, the left black band's first pixel")]
    [DataRow(ImageResizeMode.Fill, 0, 3, 1f, DisplayName = "Fill: the white band's middle")]
    [DataRow(ImageResizeMode.IsoCrop, 0, 0, 1f, DisplayName = "IsoCrop: the center 8 columns are all white")]
    [DataRow(ImageResizeMode.IsoCrop, 7, 7, 1f, DisplayName = "IsoCrop: bottom right white")]
    [DataRow(ImageResizeMode.IsoPad, 0, 3, -1f, DisplayName = "IsoPad: the top rows are padding")]
    [DataRow(ImageResizeMode.IsoPad, 3, 3, 1f, DisplayName = "IsoPad: the image's white band")]
    [DataRow(ImageResizeMode.IsoPad, 3, 0, -1f, DisplayName = "IsoPad: the image's black band")]
    public void ResizeModes_GiveTheSquareSizeAndTheExpectedPixel(ImageResizeMode mode, int y, int x, float expected)
    {
        // 16×8: columns 0–3 black, 4–11 white, 12–15 black. Halving with the antialiasing triangle filter weighs input
        // columns 2x − 1 to 2x + 2 by 1/8, 3/8, 3/8, 1/8 for output column x, so output columns 0, 3, 4 and 7 read one
        // band only and stay exact; 1, 2, 5 and 6 blend the band edges.
        using var folder = new TempFolder();
        var image = new Image(16, 8, 1);
        for (var row = 0; row < 8; row++)
        {
            for (var column = 4; column < 12; column++)
            {
                image[column, row, 0] = 255;
            }
        }

        ImageCodec.SavePng(image, folder.File("wide.png"));
        var (values, _) = Read(Open(folder.Path, imageSize: 8, channels: 1, mode), 0);
        Assert.AreEqual(64, values.Length);
        Assert.AreEqual(expected, values[(y * 8) + x], 1e-6f);
    }

    [TestMethod]
    public void Cache_KeepsDecodedImages_TheViewReadsTheDiskEachTime()
    {
        using var folder = new TempFolder();
        var path = folder.File("only.png");
        ImageCodec.SavePng(Solid(6, 6, [40, 80, 120]), path);
        var streamed = Open(folder.Path, imageSize: 4);
        var cached = s_ml.Data.Cache(streamed);
        var first = s_ml.Data.CreateEnumerable<PixelsRow>(cached, reuseRowObject: false).Single().Pixels;
        CollectionAssert.AreEqual(first, Read(streamed, 0).Pixels);

        // With the file gone, the cache still has it; the view reads the disk and names the missing file.
        File.Delete(path);
        CollectionAssert.AreEqual(first, s_ml.Data.CreateEnumerable<PixelsRow>(cached, reuseRowObject: false).Single().Pixels);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Read(streamed, 0)).Message, path);
    }

    public sealed class PixelsRow
    {
        [VectorType(3, 4, 4)]
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void Errors_AreClear()
    {
        using var folder = new TempFolder();
        var missing = folder.File("absent");
        StringAssert.Contains(Assert.ThrowsExactly<DirectoryNotFoundException>(() => Open(missing, 8)).Message, missing);

        File.WriteAllText(folder.File("readme.txt"), "no images here");
        var empty = Assert.ThrowsExactly<InvalidDataException>(() => Open(folder.Path, 8)).Message;
        StringAssert.Contains(empty, folder.Path);
        StringAssert.Contains(empty, ".png, .jpg, .jpeg");

        var corrupt = folder.Write("broken.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        var data = Open(folder.Path, 8);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Read(data, 0)).Message, $"'{corrupt}'");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Read(data, 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Open(folder.Path, 8, channels: 2));
    }

    [TestMethod]
    public void DiffusionTrainer_TrainsOnAnImageFolder()
    {
        using var folder = new TempFolder();
        for (var i = 0; i < 4; i++)
        {
            var name = Path.Combine(i % 2 == 0 ? "even" : "odd", $"{i}.{(i < 2 ? "png" : "jpg")}");
            Directory.CreateDirectory(Path.GetDirectoryName(folder.File(name))!);
            var image = Solid(8, 8, [(byte)(40 * i)]);
            if (i < 2)
            {
                ImageCodec.SavePng(image, folder.File(name));
            }
            else
            {
                TestImages.SaveJpeg(image, folder.File(name));
            }
        }

        var data = s_ml.Diffusion().LoadImageFolder(folder.Path, imageSize: 8, channels: 1);
        var options = new DiffusionTrainer.Options
        {
            LabelColumnName = "Label",
            Model = UNetConfig.Preset("tiny", 8, 1),
            Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine, TrainTimesteps = 100 },
            BatchSize = 2,
            MaxSteps = 2,
            Device = "cpu",
            SampleGridSize = 0,
        };
        using var model = s_ml.Diffusion().Train(options).Fit(data);
        Assert.AreEqual((2L, (int?)2), (model.Training!.Steps, model.Config.NumClasses));
    }

    private static Image Solid(int width, int height, byte[] color) => TestImages.Solid(width, height, color);
}
