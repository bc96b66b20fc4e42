using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Tests.Images;

/// <summary>
/// What ML.NET 5.0.1's own ImageAnalytics (MLImage, LoadImages, ResizeImages, ExtractPixels, ConvertToImage) does with
/// image files, as docs/images.md tells users; these tests keep the page true when the package changes.
/// </summary>
[TestClass]
public sealed class MLImageFactsTests
{
    public sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    public sealed class VectorRow
    {
        [VectorType(6)]
        public float[] Values { get; set; } = [];
    }

    [TestMethod]
    public void CreateFromFile_GrayPng_GivesThreeEqualChannels()
    {
        using var folder = new TempFolder();
        var path = folder.File("gray.png");
        ImageCodec.SavePng(TestImages.Solid(4, 4, [77]), path);
        using var image = MLImage.CreateFromFile(path);
        Assert.AreEqual(MLPixelFormat.Bgra32, image.PixelFormat);
        CollectionAssert.AreEqual(new byte[] { 77, 77, 77, 255 }, image.Pixels[..4].ToArray());

        // ExtractPixels then gives 3 values a pixel (it has no 1-channel output): the gray repeated.
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = "gray.png" } });
        var pixels = ml.Transforms.LoadImages("Image", folder.Path, "Path")
            .Append(ml.Transforms.ResizeImages("Image", 4, 4))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Fit(view).Transform(view).GetColumn<float[]>("Pixels").Single();
        Assert.AreEqual(3 * 16, pixels.Length);
        Assert.IsTrue(pixels.All(v => v == 77));
    }

    [TestMethod]
    public void CreateFromFile_RgbaPng_IsPremultiplied()
    {
        // Stored (200, 100, 50) at alpha 128 and (10, 20, 30) at alpha 0; ImageCodec keeps them, MLImage multiplies by alpha.
        using var folder = new TempFolder();
        var path = folder.File("rgba.png");
        ImageCodec.SavePng(new Image(2, 1, 4, [200, 100, 50, 128, 10, 20, 30, 0]), path);
        using var image = MLImage.CreateFromFile(path);
        CollectionAssert.AreEqual(new byte[] { 25, 50, 100, 128, 0, 0, 0, 0 }, image.Pixels.ToArray(), "BGRA");
        CollectionAssert.AreEqual(new byte[] { 200, 100, 50, 128, 10, 20, 30, 0 }, ImageCodec.Load(path).Pixels.ToArray());
    }

    [TestMethod]
    public void CreateFromFile_ExifOrientation_IsIgnored()
    {
        using var folder = new TempFolder();
        var path = folder.Write("turned.jpg", TestImages.WithExif(TestImages.EncodeJpeg(TestImages.Solid(16, 8, [90])), TestImages.Exif(6)));
        using var image = MLImage.CreateFromFile(path);
        Assert.AreEqual((16, 8), (image.Width, image.Height), "as stored");
        var ours = ImageCodec.Load(path);
        Assert.AreEqual((8, 16), (ours.Width, ours.Height), "as shown");
    }

    [TestMethod]
    public void CreateFromFile_SixteenBitPng_KeepsTheHighByte()
    {
        using var folder = new TempFolder();
        var path = folder.Write("sixteen.png", ReferencePng.Encode(2, 1, ReferencePng.Gray, 16, [0x12, 0xFF, 0x80, 0x80]));
        using var image = MLImage.CreateFromFile(path);
        CollectionAssert.AreEqual(new byte[] { 18, 18, 18, 255, 128, 128, 128, 255 }, image.Pixels.ToArray());
    }

    [TestMethod]
    public void CreateFromFile_TruncatedJpeg_GivesAPartialPictureWithoutAnError()
    {
        using var folder = new TempFolder();
        var whole = TestImages.EncodeJpeg(TestImages.Random(64, 64, 3, seed: 1));  // noise: half the file is half the pixels
        var path = folder.Write("half.jpg", whole[..(whole.Length / 2)]);
        using var image = MLImage.CreateFromFile(path);
        Assert.AreEqual((64, 64), (image.Width, image.Height));
        var lastRow = image.Pixels[(63 * 64 * 4)..].ToArray();
        Assert.IsTrue(lastRow.All(v => v == 0), "the missing rows are left zero (transparent black)");
        Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(path));
    }

    [TestMethod]
    public void ResizeImages_Fill_IsNearestNeighbour_IsoCropFilters()
    {
        // 48×48 stripes (columns 0, 3, 6, ... white) shrunk to 16×16. Fill picks one pixel per output pixel (column 3i + 1,
        // always black); IsoCrop and IsoPad draw through Skia's high filter quality, which keeps most of the light but
        // not evenly (measured: mean 79.5, columns alternating 127 and 32); ImageCodec + ImageResize give 84.3, flat.
        using var folder = new TempFolder();
        var stripes = new Image(48, 48, 1);
        for (var y = 0; y < 48; y++)
        {
            for (var x = 0; x < 48; x += 3)
            {
                stripes[x, y, 0] = 255;
            }
        }

        ImageCodec.SavePng(stripes, folder.File("stripes.png"));
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = "stripes.png" } });
        float[] Shrink(ImageResizingEstimator.ResizingKind kind) => ml.Transforms.LoadImages("Image", folder.Path, "Path")
            .Append(ml.Transforms.ResizeImages("Small", 16, 16, "Image", kind))
            .Append(ml.Transforms.ExtractPixels("Red", "Small", ImagePixelExtractingEstimator.ColorBits.Red))
            .Fit(view).Transform(view).GetColumn<float[]>("Red").Single();

        Assert.IsTrue(Shrink(ImageResizingEstimator.ResizingKind.Fill).All(v => v == 0), "Fill: nearest neighbour, every sample black");
        var cropped = Shrink(ImageResizingEstimator.ResizingKind.IsoCrop);
        Console.WriteLine($"IsoCrop: mean {cropped.Average():F1}, max {cropped.Max()}, min {cropped.Min()}");
        Assert.AreEqual(79.5, cropped.Average(), 5);
    }

    [TestMethod]
    public void ConvertToImage_ScaledWithoutAlpha_WritesAlphaZeroAndDoesNotClamp()
    {
        // Two RGB pixels in [−1, 1] (and beyond), mapped back with scale 127.5 and offset −127.5: ConvertToImage computes
        // round(v · scale − offset) (ExtractPixels computes (v − offset) · scale, so its inverse takes scale 127.5 and
        // offset −127.5, not the same pair) and casts to byte: 1.5 → 318.75 → 319 → 63, −2 → −127.5 → −128 → 128.
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(new[] { new VectorRow { Values = [-1f, 0f, 1f, 0.5f, 1.5f, -2f] } });
        using var image = ml.Transforms.ConvertToImage(1, 2, "Image", "Values", ImagePixelExtractingEstimator.ColorBits.Rgb,
                interleavedColors: true, scaleImage: 127.5f, offsetImage: -127.5f)
            .Fit(view).Transform(view).GetColumn<MLImage>("Image").Single();
        Assert.AreEqual(MLPixelFormat.Bgra32, image.PixelFormat);
        CollectionAssert.AreEqual(new byte[] { 255, 128, 0, 0, 128, 63, 191, 0 }, image.Pixels.ToArray(), "BGRA: alpha 0, 1.5 wrapped to 63, −2 to 128");

        // With the default scale and offset, alpha is 255 and values are cast as they are: 300 → 44, −20 → 236.
        var raw = ml.Data.LoadFromEnumerable(new[] { new VectorRow { Values = [100f, 300f, -20f, 255.6f, 2f, 0f] } });
        using var unscaled = ml.Transforms.ConvertToImage(1, 2, "Image", "Values", ImagePixelExtractingEstimator.ColorBits.Rgb, interleavedColors: true)
            .Fit(raw).Transform(raw).GetColumn<MLImage>("Image").Single();
        CollectionAssert.AreEqual(new byte[] { 236, 44, 100, 255, 0, 2, 255, 255 }, unscaled.Pixels.ToArray());
    }
}
