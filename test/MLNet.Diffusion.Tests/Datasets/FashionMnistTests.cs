using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Datasets;

[TestClass]
public sealed class FashionMnistTests
{
    private const int Pixels = FashionMnist.ImageSize * FashionMnist.ImageSize;

    [TestMethod]
    public void ClassNames_AreTheTenFashionMnistClassesInLabelOrder()
    {
        CollectionAssert.AreEqual(
            new[] { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" },
            FashionMnist.ClassNames.ToArray());
        Assert.AreEqual(FashionMnist.ClassCount, FashionMnist.ClassNames.Count);
    }

    [TestMethod]
    public void LoadTrain_SmallFiles_ScalesImagesToMinusOneOneAndWidensLabels()
    {
        using var folder = new TempFolder();
        WriteSplit(folder, FashionMnist.TrainImagesFileName, FashionMnist.TrainLabelsFileName, [0, 255, 127], [9, 0, 3]);
        using var scope = torch.NewDisposeScope();
        var (images, labels) = FashionMnist.LoadTrain(directory: folder.Path);
        CollectionAssert.AreEqual(new long[] { 3, 1, 28, 28 }, images.shape);
        Assert.AreEqual(ScalarType.Float32, images.dtype);
        var values = images.data<float>().ToArray();
        Assert.IsTrue(values[..Pixels].All(v => v == -1f), "0 → -1");
        Assert.IsTrue(values[Pixels..(2 * Pixels)].All(v => v == 1f), "255 → 1");
        Assert.AreEqual((127 / 127.5) - 1, values[2 * Pixels], 1e-7, "127 → 127/127.5 - 1");
        Assert.AreEqual(ScalarType.Int64, labels.dtype);
        CollectionAssert.AreEqual(new long[] { 9, 0, 3 }, labels.data<long>().ToArray());
    }

    [TestMethod]
    public void LoadTest_Limit_LoadsTheFirstOnes()
    {
        using var folder = new TempFolder();
        WriteSplit(folder, FashionMnist.TestImagesFileName, FashionMnist.TestLabelsFileName, [0, 255, 127], [1, 2, 3]);
        using var scope = torch.NewDisposeScope();
        var (images, labels) = FashionMnist.LoadTest(limit: 2, directory: folder.Path);
        CollectionAssert.AreEqual(new long[] { 2, 1, 28, 28 }, images.shape);
        CollectionAssert.AreEqual(new long[] { 1, 2 }, labels.data<long>().ToArray());
        var (all, _) = FashionMnist.LoadTest(limit: 1000, directory: folder.Path);
        Assert.AreEqual(3, all.size(0), "a limit above the count loads everything");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FashionMnist.LoadTest(limit: 0, directory: folder.Path));
    }

    [TestMethod]
    public void Load_ImagesAndLabelsDisagreeInCount_IsRejected()
    {
        using var folder = new TempFolder();
        WriteSplit(folder, "images.gz", "labels.gz", [0, 1, 2], [1, 2]);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => FashionMnist.Load(folder.File("images.gz"), folder.File("labels.gz"))).Message;
        StringAssert.Contains(message, "holds 3 images");
        StringAssert.Contains(message, "holds 2 labels");
        StringAssert.Contains(message, folder.File("labels.gz"));
    }

    [TestMethod]
    public void Load_LabelOutsideTheClasses_IsRejected()
    {
        using var folder = new TempFolder();
        WriteSplit(folder, "images.gz", "labels.gz", [0, 1], [4, 10]);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => FashionMnist.Load(folder.File("images.gz"), folder.File("labels.gz"))).Message;
        StringAssert.Contains(message, "label 10 at index 1 is outside 0..9");
    }

    [TestMethod]
    public void Load_ImagesOfTheWrongShape_AreRejected()
    {
        using var folder = new TempFolder();
        folder.Write("images", IdxBytes.UnsignedBytes(new byte[2 * 28 * 27], 2, 28, 27));
        folder.Write("labels", IdxBytes.UnsignedBytes([1, 2], 2));
        var message = Assert.ThrowsExactly<InvalidDataException>(() => FashionMnist.Load(folder.File("images"), folder.File("labels"))).Message;
        StringAssert.Contains(message, "it holds [2, 28, 27] uint8, not [N, 28, 28] uint8");
    }

    [TestMethod]
    public void LoadTrain_MissingFolder_SaysHowToInstallTheDataset()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-fashion-mnist-{Guid.NewGuid():N}");
        var message = Assert.ThrowsExactly<DirectoryNotFoundException>(() => FashionMnist.LoadTrain(directory: missing)).Message;
        StringAssert.Contains(message, missing);
        StringAssert.Contains(message, "install Debian's dataset-fashion-mnist (./build.sh does)");
    }

    [TestMethod]
    public void Load_MissingFile_SaysHowToInstallTheDataset()
    {
        using var folder = new TempFolder();
        var message = Assert.ThrowsExactly<FileNotFoundException>(() => FashionMnist.LoadTrain(directory: folder.Path)).Message;
        StringAssert.Contains(message, FashionMnist.TrainImagesFileName);
        StringAssert.Contains(message, "dataset-fashion-mnist");
    }

    [TestMethod]
    public void LoadTrain_DebianDataset_First100()
    {
        if (!Directory.Exists(FashionMnist.DefaultDirectory))
        {
            Assert.Fail($"{FashionMnist.DefaultDirectory} is missing: install Debian's dataset-fashion-mnist (./build.sh does).");
        }

        // Golden values read from the Debian files with Python's gzip module: the first ten training labels, and the
        // sum of the first image's 784 bytes (76247).
        using var scope = torch.NewDisposeScope();
        var (images, labels) = FashionMnist.LoadTrain(limit: 100);
        CollectionAssert.AreEqual(new long[] { 100, 1, 28, 28 }, images.shape);
        Assert.AreEqual(ScalarType.Float32, images.dtype);
        Assert.AreEqual(-1.0, images.min().ToDouble());
        Assert.AreEqual(1.0, images.max().ToDouble());
        CollectionAssert.AreEqual(new long[] { 100 }, labels.shape);
        var classes = labels.data<long>().ToArray();
        Assert.IsTrue(classes.All(c => c is >= 0 and <= 9));
        CollectionAssert.AreEqual(new long[] { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 }, classes[..10]);
        Assert.AreEqual((76247 / 127.5) - 784, images[0].sum().ToDouble(), 1e-3);
    }

    [TestMethod]
    public void LoadTest_DebianDataset_FirstLabels()
    {
        if (!Directory.Exists(FashionMnist.DefaultDirectory))
        {
            Assert.Fail($"{FashionMnist.DefaultDirectory} is missing: install Debian's dataset-fashion-mnist (./build.sh does).");
        }

        // The first ten test labels, read from the Debian file with Python's gzip module.
        using var scope = torch.NewDisposeScope();
        var (images, labels) = FashionMnist.LoadTest(limit: 10);
        CollectionAssert.AreEqual(new long[] { 10, 1, 28, 28 }, images.shape);
        CollectionAssert.AreEqual(new long[] { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }, labels.data<long>().ToArray());
    }

    /// <summary>Writes gzip-compressed images (each filled with one value) and labels, as the dataset's files are.</summary>
    private static void WriteSplit(TempFolder folder, string imagesName, string labelsName, byte[] fills, byte[] labels)
    {
        var pixels = fills.SelectMany(fill => Enumerable.Repeat(fill, Pixels)).ToArray();
        folder.Write(imagesName, IdxBytes.Gzip(IdxBytes.UnsignedBytes(pixels, fills.Length, 28, 28)));
        folder.Write(labelsName, IdxBytes.Gzip(IdxBytes.UnsignedBytes(labels, labels.Length)));
    }
}
