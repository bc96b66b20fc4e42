using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Tests.Images;

[TestClass]
public sealed class ImageResizeTests
{
    [TestMethod]
    [DataRow(ImageResizeMode.Fill)]
    [DataRow(ImageResizeMode.IsoCrop)]
    [DataRow(ImageResizeMode.IsoPad)]
    public void ImageFolderPixels_StripesShrunkThreeTimes_AverageInsteadOfAliasing(ImageResizeMode mode)
    {
        // 48×48 vertical stripes, every third column (0, 3, ...) 255 and the rest 0: mean 85. Shrunk to 16×16, the
        // antialiasing filter keeps the mean and blurs the stripes to 85 everywhere but the edge columns, renormalised:
        // 95.6 and 63.8, mean 84.3 (measured). Bilinear interpolation without a prefilter, as before, read input column
        // 3i + 1 alone for output column i: 0 everywhere, the stripes gone.
        using var folder = new TempFolder();
        var stripes = new Image(48, 48, 1);
        for (var y = 0; y < 48; y++)
        {
            for (var x = 0; x < 48; x += 3)
            {
                stripes[x, y, 0] = 255;
            }
        }

        var path = folder.File("stripes.png");
        ImageCodec.SavePng(stripes, path);
        var pixels = ImageFolderPixels.Load(path, 16, 1, mode).Select(v => (v + 1) * 127.5).ToArray();
        Assert.AreEqual(256, pixels.Length);
        Console.WriteLine($"mean {pixels.Average():F2}, max {pixels.Max():F2}, min {pixels.Min():F2}");
        Assert.AreEqual(85, pixels.Average(), 2);
        Assert.IsTrue(pixels.Max() <= 100, $"largest pixel {pixels.Max():F2}");
        Assert.AreEqual(85, pixels[(8 * 16) + 8], 1e-3, "an inner pixel: 255 · 3/9");
    }

    [TestMethod]
    public void Resample_SolidColor_StaysExactlyThatColor()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var (width, height) in new[] { (5, 3), (7, 11), (40, 2), (13, 7) })
        {
            var resized = ImageResize.Resample(torch.full([1, 2, 7, 13], -1f), width, height).data<float>().ToArray();
            Assert.IsTrue(resized.All(v => v == -1f), $"{width}×{height}");
        }
    }

    [TestMethod]
    public void Resample_Enlarging_IsBilinearInterpolationAsBefore()
    {
        // Enlarging keeps the interpolation ImageResize used before antialiasing came: PyTorch's bilinear, align_corners false.
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        var input = torch.rand([1, 3, 5, 7], generator: generator);
        var ours = ImageResize.Resample(input, 16, 12).data<float>().ToArray();
        var bilinear = nn.functional.interpolate(input, size: [12, 16], mode: InterpolationMode.Bilinear, align_corners: false).data<float>().ToArray();
        for (var i = 0; i < ours.Length; i++)
        {
            Assert.AreEqual(bilinear[i], ours[i], 1e-5f, $"element {i}");
        }
    }

    [TestMethod]
    public void Resample_Shrinking_MatchesPilsAndTorchvisionsAntialiasedBilinear()
    {
        // PyTorch's antialias=True (what torchvision's resize uses) is PIL's BILINEAR resampling; both take float input here.
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(4);
        var input = torch.rand([1, 2, 23, 37], generator: generator);
        foreach (var (width, height) in new[] { (11, 7), (18, 20), (5, 23), (30, 9) })
        {
            var ours = ImageResize.Resample(input, width, height).data<float>().ToArray();
            var antialiased = nn.functional.interpolate(input, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true)
                .data<float>().ToArray();
            for (var i = 0; i < ours.Length; i++)
            {
                Assert.AreEqual(antialiased[i], ours[i], 1e-5f, $"{width}×{height}, element {i}");
            }
        }

        // And against PIL itself, on one 'F' (32-bit float) plane.
        DebianPython.RequirePil();
        var plane = input[0, 0].contiguous().data<float>().ToArray();
        var (exitCode, output) = DebianPython.Run(
            "import sys, struct; from PIL import Image\n" +
            "im = Image.frombytes('F', (37, 23), bytes.fromhex(sys.argv[1]))\n" +
            "print(' '.join(repr(v) for v in im.resize((11, 7), Image.Resampling.BILINEAR).getdata()))",
            Convert.ToHexString(plane.SelectMany(BitConverter.GetBytes).ToArray()));
        Assert.AreEqual(0, exitCode, output);
        var pil = output.Trim().Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var first = ImageResize.Resample(input, 11, 7).data<float>().ToArray()[..77];
        for (var i = 0; i < 77; i++)
        {
            Assert.AreEqual(pil[i], first[i], 1e-5f, $"element {i} against PIL");
        }
    }

    [TestMethod]
    public void Weights_HalvingAndThirding_AreTheScaledTriangle()
    {
        // Halving: the output pixel centered on input 3.0 reads inputs 1–4 at 1/8, 3/8, 3/8, 1/8.
        var (first, weights) = ImageResize.Weights(8, 4)[1];
        Assert.AreEqual(1, first);
        CollectionAssert.AreEqual(new[] { 0.125, 0.375, 0.375, 0.125 }, weights.Where(w => w > 0).ToArray());

        // Thirding: 1/9, 2/9, 3/9, 2/9, 1/9 around the center; at the edge, renormalised over the pixels that exist.
        var (inner, innerWeights) = ImageResize.Weights(48, 16)[5];
        Assert.AreEqual(14, inner);
        var expected = new[] { 1 / 9.0, 2 / 9.0, 3 / 9.0, 2 / 9.0, 1 / 9.0 };
        var actual = innerWeights.Where(w => w > 0).ToArray();
        for (var i = 0; i < 5; i++)
        {
            Assert.AreEqual(expected[i], actual[i], 1e-12);
        }

        Assert.AreEqual(1.0, ImageResize.Weights(48, 16)[0].Weights.Sum(), 1e-12);
        Assert.AreEqual(0.25, ImageResize.Weights(48, 16)[0].Weights[0], 1e-12, "2/9 of 8/9");
    }
}
