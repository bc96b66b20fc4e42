using MLNet.Diffusion.Data;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Schedulers;
using MLNet.Diffusion.Tests.Data;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Tests.Training;

[TestClass]
public sealed class ImageFolderTrainingDataTests
{
    [TestMethod]
    public void ClassFolders_GiveOrdinalLabelsShapesAndRange()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("zebra"));
        Directory.CreateDirectory(folder.File("Ant"));
        PngCodec.Save(Solid(8, 8, [255, 0, 0]), folder.File(Path.Combine("zebra", "b.png")));
        JpegCodec.Save(Solid(12, 12, [100]), folder.File(Path.Combine("zebra", "a.JPG")));
        PngCodec.Save(Solid(8, 8, [0, 0, 255]), folder.File(Path.Combine("Ant", "x.png")));
        JpegCodec.Save(Solid(8, 16, [10, 200, 30]), folder.File(Path.Combine("Ant", "y.jpeg")));
        File.WriteAllText(folder.File(Path.Combine("Ant", "notes.txt")), "not an image");

        using var data = new ImageFolderTrainingData(folder.Path, imageSize: 8, channels: 3, ImageResizeMode.Fill);
        CollectionAssert.AreEqual(new[] { "Ant", "zebra" }, data.ClassNames.ToArray());
        Assert.AreEqual((4L, 3, 8, 2), (data.Count, data.Channels, data.ImageSize, data.NumClasses));
        CollectionAssert.AreEqual(new[] { "x.png", "y.jpeg", "a.JPG", "b.png" }, data.Files.Select(Path.GetFileName).ToArray());

        using var scope = torch.NewDisposeScope();
        var (images, labels) = data.GetBatch([3, 0, 1, 2]);
        CollectionAssert.AreEqual(new long[] { 4, 3, 8, 8 }, images.shape);
        Assert.AreEqual(ScalarType.Float32, images.dtype);
        Assert.IsNotNull(labels);
        Assert.AreEqual(ScalarType.Int64, labels.dtype);
        CollectionAssert.AreEqual(new long[] { 1, 0, 0, 1 }, labels.data<long>().ToArray());
        var values = images.data<float>().ToArray();
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
        PngCodec.Save(Solid(4, 4, [200, 100, 50]), folder.File("rgb.png"));
        using var data = new ImageFolderTrainingData(folder.Path, imageSize: 4, channels: 1);
        using var scope = torch.NewDisposeScope();
        var (images, labels) = data.GetBatch([0]);
        CollectionAssert.AreEqual(new long[] { 1, 1, 4, 4 }, images.shape);

        // 0.299·200 + 0.587·100 + 0.114·50 = 124.2.
        Assert.AreEqual((124.2 / 127.5) - 1, images.data<float>().ToArray()[5], 1e-5);
        Assert.IsNull(labels);
        Assert.IsNull(data.NumClasses);
        Assert.AreEqual(0, data.ClassNames.Count);
    }

    [TestMethod]
    [DataRow(ImageResizeMode.Fill, 0, 0, -1f, DisplayName = "Fill: stretched, the left black band is 2 px")]
    [DataRow(ImageResizeMode.Fill, 0, 3, 1f, DisplayName = "Fill: the white band from x = 2")]
    [DataRow(ImageResizeMode.IsoCrop, 0, 0, 1f, DisplayName = "IsoCrop: the center 8 columns are all white")]
    [DataRow(ImageResizeMode.IsoCrop, 7, 7, 1f, DisplayName = "IsoCrop: bottom right white")]
    [DataRow(ImageResizeMode.IsoPad, 0, 3, -1f, DisplayName = "IsoPad: the top rows are padding")]
    [DataRow(ImageResizeMode.IsoPad, 3, 3, 1f, DisplayName = "IsoPad: the image's white band")]
    [DataRow(ImageResizeMode.IsoPad, 3, 0, -1f, DisplayName = "IsoPad: the image's black band")]
    public void ResizeModes_GiveTheSquareSizeAndTheExpectedPixel(ImageResizeMode mode, int y, int x, float expected)
    {
        // 16×8: columns 0–3 black, 4–11 white, 12–15 black. Halving by bilinear interpolation (align_corners false)
        // averages column pairs, so the bands stay exact at 2, 4 and 2 px.
        using var folder = new TempFolder();
        var image = new Image(16, 8, 1);
        for (var row = 0; row < 8; row++)
        {
            for (var column = 4; column < 12; column++)
            {
                image[column, row, 0] = 255;
            }
        }

        PngCodec.Save(image, folder.File("wide.png"));
        using var data = new ImageFolderTrainingData(folder.Path, imageSize: 8, channels: 1, mode);
        using var scope = torch.NewDisposeScope();
        var (images, _) = data.GetBatch([0]);
        CollectionAssert.AreEqual(new long[] { 1, 1, 8, 8 }, images.shape);
        Assert.AreEqual(expected, images.data<float>().ToArray()[(y * 8) + x], 1e-6f);
    }

    [TestMethod]
    public void Cache_KeepsDecodedImages_StreamingReadsTheDiskEachTime()
    {
        using var folder = new TempFolder();
        var path = folder.File("only.png");
        PngCodec.Save(Solid(6, 6, [40, 80, 120]), path);
        using var cached = new ImageFolderTrainingData(folder.Path, imageSize: 4, cache: true);
        using var streamed = new ImageFolderTrainingData(folder.Path, imageSize: 4);
        using var scope = torch.NewDisposeScope();
        var first = cached.GetBatch([0]).Images.data<float>().ToArray();
        CollectionAssert.AreEqual(first, streamed.GetBatch([0]).Images.data<float>().ToArray());

        // With the file gone, the cache still has it; streaming reads the disk and names the missing file.
        File.Delete(path);
        CollectionAssert.AreEqual(first, cached.GetBatch([0, 0]).Images.data<float>().ToArray()[..first.Length]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => streamed.GetBatch([0])).Message, path);
    }

    [TestMethod]
    public void Errors_AreClear()
    {
        using var folder = new TempFolder();
        var missing = folder.File("absent");
        StringAssert.Contains(Assert.ThrowsExactly<DirectoryNotFoundException>(() => new ImageFolderTrainingData(missing, 8)).Message, missing);

        File.WriteAllText(folder.File("readme.txt"), "no images here");
        var empty = Assert.ThrowsExactly<InvalidDataException>(() => new ImageFolderTrainingData(folder.Path, 8)).Message;
        StringAssert.Contains(empty, folder.Path);
        StringAssert.Contains(empty, ".png, .jpg, .jpeg");

        var corrupt = folder.Write("broken.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        using var data = new ImageFolderTrainingData(folder.Path, 8);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => data.GetBatch([0])).Message, $"'{corrupt}'");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => data.GetBatch([1]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFolderTrainingData(folder.Path, 8, channels: 2));
    }

    [TestMethod]
    public void DdpmTrainer_TrainsOnAnImageFolder()
    {
        using var folder = new TempFolder();
        for (var i = 0; i < 4; i++)
        {
            var name = Path.Combine(i % 2 == 0 ? "even" : "odd", $"{i}.{(i < 2 ? "png" : "jpg")}");
            Directory.CreateDirectory(Path.GetDirectoryName(folder.File(name))!);
            var image = Solid(8, 8, [(byte)(40 * i)]);
            if (i < 2)
            {
                PngCodec.Save(image, folder.File(name));
            }
            else
            {
                JpegCodec.Save(image, folder.File(name));
            }
        }

        using var data = new ImageFolderTrainingData(folder.Path, imageSize: 8, channels: 1);
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 8, 1),
            Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine, TrainTimesteps = 100 },
            BatchSize = 2,
            MaxSteps = 2,
            Device = "cpu",
            SampleGridSize = 0,
        };
        using var result = new DdpmTrainer(options).Train(data);
        Assert.AreEqual(2, result.Steps);
    }

    private static Image Solid(int width, int height, byte[] color) => JpegCodecTests.SolidImage(width, height, color);
}
