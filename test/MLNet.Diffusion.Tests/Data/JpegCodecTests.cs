using System.Globalization;
using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Tests.Data;

[TestClass]
public sealed class JpegCodecTests
{
    // Measured with Debian's libturbojpeg0 at quality 95 on the smooth 32×24 test image below: 53.9 dB gray and
    // 49.1 dB RGB (4:4:4). The bound leaves a few dB for other libjpeg-turbo versions.
    private const double MinimumPsnr = 45;

    [TestMethod]
    [DataRow(1, DisplayName = "gray")]
    [DataRow(3, DisplayName = "RGB")]
    public void EncodeDecode_RoundTrip_StaysCloseToTheOriginal(int channels)
    {
        var image = SmoothImage(32, 24, channels);
        var bytes = JpegCodec.Encode(image);
        CollectionAssert.AreEqual(new byte[] { 0xFF, 0xD8, 0xFF }, bytes[..3]);
        var decoded = JpegCodec.Decode(bytes);
        Assert.AreEqual((32, 24, channels), (decoded.Width, decoded.Height, decoded.Channels));
        var psnr = Psnr(image, decoded);
        Console.WriteLine($"PSNR {psnr:F2} dB ({channels} channel(s), quality 95, {bytes.Length} bytes)");
        Assert.IsTrue(psnr >= MinimumPsnr, $"PSNR {psnr:F2} dB is below {MinimumPsnr} dB.");
    }

    [TestMethod]
    public void SaveLoad_RoundTripsThroughAFileAndLeavesNoTemporaryFile()
    {
        using var folder = new TempFolder();
        var path = folder.Write("image.jpg", [1, 2, 3]);
        var image = SmoothImage(16, 16, 3);
        JpegCodec.Save(image, path, quality: 90);
        var loaded = JpegCodec.Load(path);
        Assert.AreEqual((16, 16, 3), (loaded.Width, loaded.Height, loaded.Channels));
        Assert.IsTrue(Psnr(image, loaded) >= MinimumPsnr - 5);
        CollectionAssert.AreEqual(new[] { "image.jpg" }, Directory.GetFiles(folder.Path).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void Decode_RequestedChannels_ConvertsTheFile()
    {
        var gray = JpegCodec.Encode(SolidImage(8, 8, [120]));
        var asRgb = JpegCodec.Decode(gray, channels: 3);
        Assert.AreEqual(3, asRgb.Channels);
        Assert.AreEqual(120, asRgb[3, 3, 0], 1);
        Assert.AreEqual(120, asRgb[3, 3, 2], 1);

        var color = JpegCodec.Encode(SolidImage(8, 8, [200, 100, 50]));
        var asGray = JpegCodec.Decode(color, channels: 1);
        Assert.AreEqual(1, asGray.Channels);

        // JPEG's luma: 0.299·200 + 0.587·100 + 0.114·50 = 124.2.
        Assert.AreEqual(124, asGray[4, 4, 0], 2);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => JpegCodec.Decode(color, channels: 4));
    }

    [TestMethod]
    public void Encode_ImageWithAlpha_IsRejectedClearly()
    {
        var message = Assert.ThrowsExactly<ArgumentException>(() => JpegCodec.Encode(new Image(4, 4, 4))).Message;
        StringAssert.Contains(message, "alpha");
        Assert.ThrowsExactly<ArgumentException>(() => JpegCodec.Encode(new Image(4, 4, 2)));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => JpegCodec.Encode(new Image(4, 4, 3), quality: 0));
    }

    [TestMethod]
    public void Load_TruncatedFile_NamesTheFileAndTurboJpegsMessage()
    {
        using var folder = new TempFolder();
        var whole = JpegCodec.Encode(SmoothImage(64, 64, 3));
        var path = folder.Write("truncated.jpg", whole[..(whole.Length / 2)]);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => JpegCodec.Load(path)).Message;
        Console.WriteLine(message);
        StringAssert.StartsWith(message, $"JPEG file '{path}' cannot be decoded: ");
        StringAssert.Contains(message, "Premature end of JPEG file");
    }

    [TestMethod]
    public void Load_NotAJpeg_NamesTheFileAndTurboJpegsMessage()
    {
        using var folder = new TempFolder();
        var path = folder.Write("text.jpg", "This is not a JPEG file, whatever its name says."u8.ToArray());
        var message = Assert.ThrowsExactly<InvalidDataException>(() => JpegCodec.Load(path)).Message;
        Console.WriteLine(message);
        StringAssert.StartsWith(message, $"JPEG file '{path}' cannot be decoded: ");
        StringAssert.Contains(message, "Not a JPEG file");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => JpegCodec.Decode([], source: "empty.jpg")).Message, "'empty.jpg'");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => JpegCodec.Load(folder.File("absent.jpg"))).Message, "absent.jpg");
    }

    [TestMethod]
    public void PythonImagingLibrary_WritesWhatWeReadAndReadsWhatWeWrite()
    {
        // A cross-check with a second, independent JPEG implementation: Debian's python3-pil (installed by ./build.sh).
        DebianPython.RequirePil();
        using var folder = new TempFolder();

        // PIL writes a solid color and a horizontal gray ramp (v = 16·x) at quality 95 without subsampling.
        var solid = folder.File("pil-solid.jpg");
        var ramp = folder.File("pil-ramp.jpg");
        var written = DebianPython.Run(
            "import sys; from PIL import Image; " +
            "Image.new('RGB', (16, 8), (200, 100, 50)).save(sys.argv[1], quality=95, subsampling=0); " +
            "im = Image.new('L', (16, 4)); im.putdata([16 * x for y in range(4) for x in range(16)]); im.save(sys.argv[2], quality=95)",
            solid, ramp);
        Assert.AreEqual(0, written.ExitCode, written.Output);
        var color = JpegCodec.Load(solid);
        Assert.AreEqual((16, 8, 3), (color.Width, color.Height, color.Channels));
        for (var i = 0; i < color.Pixels.Length; i += 3)
        {
            // A flat block has only a DC term: within 2 levels after YCbCr rounding.
            Assert.AreEqual(200, color.Pixels[i], 2);
            Assert.AreEqual(100, color.Pixels[i + 1], 2);
            Assert.AreEqual(50, color.Pixels[i + 2], 2);
        }

        var gray = JpegCodec.Load(ramp);
        Assert.AreEqual((16, 4, 1), (gray.Width, gray.Height, gray.Channels));
        for (var x = 0; x < 16; x++)
        {
            // The ramp's 8×8 blocks are not flat: within 4 levels at quality 95.
            Assert.AreEqual(16 * x, gray[x, 2, 0], 4, $"x = {x}");
        }

        // PIL reads ours back: size, mode and the mean of each channel.
        var ours = folder.File("ours.jpg");
        JpegCodec.Save(SolidImage(12, 10, [30, 160, 220]), ours);
        var read = DebianPython.Run(
            "import sys; from PIL import Image, ImageStat; im = Image.open(sys.argv[1]); " +
            "print(im.format, im.mode, im.size[0], im.size[1], *[round(m) for m in ImageStat.Stat(im).mean])", ours);
        Assert.AreEqual(0, read.ExitCode, read.Output);
        var fields = read.Output.Trim().Split(' ');
        CollectionAssert.AreEqual(new[] { "JPEG", "RGB", "12", "10" }, fields[..4]);
        var means = fields[4..].Select(f => int.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        Assert.AreEqual(30, means[0], 2);
        Assert.AreEqual(160, means[1], 2);
        Assert.AreEqual(220, means[2], 2);
    }

    internal static Image SolidImage(int width, int height, byte[] color)
    {
        var image = new Image(width, height, color.Length);
        for (var i = 0; i < image.Pixels.Length; i++)
        {
            image.Pixels[i] = color[i % color.Length];
        }

        return image;
    }

    /// <summary>Smooth gradients with a gentle wave, the kind of content JPEG is made for.</summary>
    private static Image SmoothImage(int width, int height, int channels)
    {
        var image = new Image(width, height, channels);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                for (var c = 0; c < channels; c++)
                {
                    var v = 128 + (60 * Math.Sin((x + (2 * c)) / 5.0)) + (40 * Math.Cos((y - c) / 7.0));
                    image[x, y, c] = (byte)Math.Clamp(Math.Round(v), 0, 255);
                }
            }
        }

        return image;
    }

    private static double Psnr(Image a, Image b)
    {
        double sum = 0;
        for (var i = 0; i < a.Pixels.Length; i++)
        {
            double d = a.Pixels[i] - b.Pixels[i];
            sum += d * d;
        }

        var mse = sum / a.Pixels.Length;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }
}
