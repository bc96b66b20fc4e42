using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Tests.Images;

[TestClass]
public sealed class ImageGridTests
{
    [TestMethod]
    public void ToImages_Gray_MapsMinusOneOneToBytesRoundingHalvesToEven()
    {
        // x·127.5 + 127.5: -1 → 0, 1 → 255, 0 → 127.5 → 128 (even), 0.5 → 191.25 → 191, -0.5 → 63.75 → 64, 0.25 → 159.375 → 159.
        using var scope = torch.NewDisposeScope();
        var batch = torch.tensor(new float[] { -1, 1, 0, 0.5f, -0.5f, 0.25f, 1, -1 }, [2, 1, 2, 2]);
        var images = ImageGrid.ToImages(batch);
        Assert.AreEqual(2, images.Length);
        Assert.AreEqual((2, 2, 1), (images[0].Width, images[0].Height, images[0].Channels));
        CollectionAssert.AreEqual(new byte[] { 0, 255, 128, 191 }, images[0].Pixels.ToArray());
        CollectionAssert.AreEqual(new byte[] { 64, 159, 255, 0 }, images[1].Pixels.ToArray());
    }

    [TestMethod]
    public void ToImages_GiveTheBytesOfTheModelSpaceEncoding_HalvesToEvenAsTheGeneratorGraph()
    {
        // Grids and generated images (DiffusionModel.ConvertToImages, the ONNX graph's Round) turn a value into the same
        // byte. Every value whose float32 image is exactly k + 0.5 with k even rounds down to k, where halves-up gave k + 1.
        var encoding = PixelEncoding.ModelSpace(1);
        var values = Enumerable.Range(0, 2049).Select(i => -1.05f + (2.1f * i / 2048)).ToList();
        var ties = Enumerable.Range(0, 128).Select(k => 2 * k)
            .Select(k => (K: k, V: (k + 0.5f - 127.5f) / 127.5f))
            .Where(t => (t.V / encoding.ScaleImage) + encoding.OffsetImage == t.K + 0.5f)
            .ToList();
        Assert.IsNotEmpty(ties, "no value lands exactly on a half");
        values.AddRange(ties.Select(t => t.V));
        using var scope = torch.NewDisposeScope();
        var image = ImageGrid.ToImages(torch.tensor(values.ToArray(), [1, 1, 1, values.Count]))[0];
        CollectionAssert.AreEqual(values.Select(encoding.ToPixel).ToArray(), image.Pixels.ToArray());
        foreach (var (k, v) in ties)
        {
            Assert.AreEqual((byte)k, encoding.ToPixel(v), $"value {v} lies on {k} + 0.5");
        }
    }

    [TestMethod]
    public void Upscale_RepeatsEachPixelAsABlock_AndOneIsTheImageItself()
    {
        var image = new Image(2, 1, 3, [1, 2, 3, 4, 5, 6]);
        Assert.AreSame(image, ImageGrid.Upscale(image, 1));
        var big = ImageGrid.Upscale(image, 3);
        Assert.AreEqual((6, 3, 3), (big.Width, big.Height, big.Channels));
        for (var y = 0; y < 3; y++)
        {
            for (var x = 0; x < 6; x++)
            {
                Assert.AreEqual(x < 3 ? (byte)1 : (byte)4, big[x, y, 0]);
                Assert.AreEqual(x < 3 ? (byte)3 : (byte)6, big[x, y, 2]);
            }
        }

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImageGrid.Upscale(image, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImageGrid.Upscale(image, 17));
        Assert.AreEqual((2, 1), (ImageGrid.DefaultScale(63), ImageGrid.DefaultScale(64)));
    }

    [TestMethod]
    public void ToImages_Rgb_InterleavesThePlanes()
    {
        using var scope = torch.NewDisposeScope();
        // [1, 3, 1, 2]: red plane (-1, 1), green plane (1, -1), blue plane (0, 0).
        var batch = torch.tensor(new double[] { -1, 1, 1, -1, 0, 0 }, [1, 3, 1, 2]);
        var image = ImageGrid.ToImages(batch).Single();
        Assert.AreEqual(3, image.Channels);
        CollectionAssert.AreEqual(new byte[] { 0, 255, 128, 255, 0, 128 }, image.Pixels.ToArray());
    }

    [TestMethod]
    public void ToImages_OutOfRangeValues_AreClamped()
    {
        using var scope = torch.NewDisposeScope();
        var batch = torch.tensor(new float[] { -3, 2.5f, float.PositiveInfinity, float.NegativeInfinity, -1.0001f, 1.0001f }, [1, 1, 1, 6]);
        CollectionAssert.AreEqual(new byte[] { 0, 255, 255, 0, 0, 255 }, ImageGrid.ToImages(batch)[0].Pixels.ToArray());
    }

    [TestMethod]
    public void ToImages_NaN_IsRejected()
    {
        using var scope = torch.NewDisposeScope();
        var batch = torch.tensor(new float[] { 0, float.NaN }, [1, 1, 1, 2]);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ImageGrid.ToImages(batch)).Message, "NaN");
    }

    [TestMethod]
    public void ToImages_BadShapesAndTypes_AreRejected()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var shape in new long[][] { [1, 2, 4, 4], [1, 4, 4, 4], [4, 4], [1, 1, 4], [1, 1, 1, 4, 4], [1, 1, 0, 4] })
        {
            var message = Assert.ThrowsExactly<ArgumentException>(() => ImageGrid.ToImages(torch.zeros(shape)), string.Join(",", shape)).Message;
            StringAssert.Contains(message, $"[{string.Join(", ", shape)}]");
        }

        var integers = Assert.ThrowsExactly<ArgumentException>(() => ImageGrid.ToImages(torch.zeros([1, 1, 2, 2], ScalarType.Byte)));
        StringAssert.Contains(integers.Message, "uint8");
        Assert.AreEqual("batch", integers.ParamName);
    }

    [TestMethod]
    public void Compose_TinyGrid_HasExactPixels()
    {
        // Three 2×2 images, two columns, 1 pixel of padding valued 7: a 7×7 grid whose last cell is padding.
        var images = new[]
        {
            new Image(2, 2, 1, [1, 2, 3, 4]),
            new Image(2, 2, 1, [5, 6, 8, 9]),
            new Image(2, 2, 1, [10, 11, 12, 13]),
        };
        var grid = ImageGrid.Compose(images, columns: 2, padding: 1, paddingValue: 7);
        Assert.AreEqual((7, 7, 1), (grid.Width, grid.Height, grid.Channels));
        byte[] expected =
        [
            7, 7, 7, 7, 7, 7, 7,
            7, 1, 2, 7, 5, 6, 7,
            7, 3, 4, 7, 8, 9, 7,
            7, 7, 7, 7, 7, 7, 7,
            7, 10, 11, 7, 7, 7, 7,
            7, 12, 13, 7, 7, 7, 7,
            7, 7, 7, 7, 7, 7, 7,
        ];
        CollectionAssert.AreEqual(expected, grid.Pixels.ToArray());
    }

    [TestMethod]
    public void Compose_FewerImagesThanColumns_UsesOneShortRow()
    {
        var images = new[] { new Image(3, 2, 3), new Image(3, 2, 3) };
        var grid = ImageGrid.Compose(images, columns: 8, padding: 2);
        Assert.AreEqual((2 + (2 * (3 + 2)), 2 + 2 + 2), (grid.Width, grid.Height));
        Assert.AreEqual(ImageGrid.DefaultPaddingValue, grid[0, 0, 0]);
        Assert.AreEqual(0, grid[2, 2, 1]);
        Assert.AreEqual(ImageGrid.DefaultPaddingValue, grid[5, 2, 2]);
    }

    [TestMethod]
    public void Compose_WithoutPadding_TilesTheImages()
    {
        var grid = ImageGrid.Compose([new Image(1, 1, 1, [1]), new Image(1, 1, 1, [2]), new Image(1, 1, 1, [3]), new Image(1, 1, 1, [4])], columns: 2, padding: 0);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3, 4 }, grid.Pixels.ToArray());
    }

    [TestMethod]
    public void Compose_AlphaImages_PadOpaque()
    {
        var grid = ImageGrid.Compose([new Image(1, 1, 2, [9, 0])], columns: 1, padding: 1, paddingValue: 40);
        Assert.AreEqual((40, 255), (grid[0, 0, 0], grid[0, 0, 1]));
        Assert.AreEqual((9, 0), (grid[1, 1, 0], grid[1, 1, 1]));
    }

    [TestMethod]
    public void Compose_BadArguments_AreRejected()
    {
        var one = new Image(2, 2, 1);
        Assert.ThrowsExactly<ArgumentException>(() => ImageGrid.Compose([]));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ImageGrid.Compose([one, new Image(2, 3, 1)])).Message, "image 1 is 2×3");
        Assert.ThrowsExactly<ArgumentException>(() => ImageGrid.Compose([one, new Image(2, 2, 3)]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImageGrid.Compose([one], columns: 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImageGrid.Compose([one], padding: -1));
    }

    [TestMethod]
    public void SaveGrid_WritesThePngOfTheGrid()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(5);
        var batch = torch.randn([5, 3, 4, 6], generator: generator);
        var path = folder.File("samples.png");
        ImageGrid.SaveGrid(batch, path, columns: 2, padding: 1);
        var saved = ImageCodec.Load(path);
        var expected = ImageGrid.FromTensor(batch, columns: 2, padding: 1);
        Assert.AreEqual((2 * 7) + 1, saved.Width);
        Assert.AreEqual((3 * 5) + 1, saved.Height);
        Assert.AreEqual(3, saved.Channels);
        CollectionAssert.AreEqual(expected.Pixels.ToArray(), saved.Pixels.ToArray());
    }
}
