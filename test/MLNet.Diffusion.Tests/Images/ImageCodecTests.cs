using System.Buffers.Binary;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Tests.Images;

[TestClass]
public sealed class ImageCodecTests
{
    // Measured with SkiaSharp 2.88.9's JPEG encoder and decoder (libjpeg-turbo) at quality 95, 4:4:4, on the smooth
    // 32×24 test image: 53.9 dB gray and 49.1 dB RGB. The bound leaves a few dB for other libjpeg-turbo builds.
    private const double MinimumPsnr = 45;

    [TestMethod]
    [DataRow(1, DisplayName = "gray")]
    [DataRow(3, DisplayName = "RGB")]
    [DataRow(4, DisplayName = "RGBA")]
    public void EncodePng_Decode_RoundTripsEveryByte(int channels)
    {
        var image = TestImages.Random(7, 5, channels, seed: channels);
        var bytes = ImageCodec.EncodePng(image);
        CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        var decoded = ImageCodec.Decode(bytes);
        Assert.AreEqual((7, 5, channels), (decoded.Width, decoded.Height, decoded.Channels));
        CollectionAssert.AreEqual(image.Pixels.ToArray(), decoded.Pixels.ToArray());
    }

    [TestMethod]
    public void EncodePng_GrayAlpha_IsWrittenAsRgbaWithTheGrayRepeated()
    {
        var image = new Image(2, 1, 2, [40, 0, 200, 128]);
        var decoded = ImageCodec.Decode(ImageCodec.EncodePng(image));
        Assert.AreEqual(4, decoded.Channels);
        CollectionAssert.AreEqual(new byte[] { 40, 40, 40, 0, 200, 200, 200, 128 }, decoded.Pixels.ToArray());
        CollectionAssert.AreEqual(image.Pixels.ToArray(), ImageCodec.Decode(ImageCodec.EncodePng(image), channels: 2).Pixels.ToArray());
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(3)]
    [DataRow(4)]
    public void SavePng_Load_RoundTripsThroughAFile(int channels)
    {
        using var folder = new TempFolder();
        var path = folder.File("image.png");
        var image = TestImages.Random(16, 3, channels, seed: 10 + channels);
        ImageCodec.SavePng(image, path);
        var loaded = ImageCodec.Load(path);
        Assert.AreEqual((16, 3, channels), (loaded.Width, loaded.Height, loaded.Channels));
        CollectionAssert.AreEqual(image.Pixels.ToArray(), loaded.Pixels.ToArray());
    }

    [TestMethod]
    public void SavePng_ExistingFile_IsReplacedAndNoTemporaryFileRemains()
    {
        using var folder = new TempFolder();
        var path = folder.Write("grid.png", [1, 2, 3]);
        ImageCodec.SavePng(TestImages.Random(4, 4, 3, seed: 1), path);
        Assert.AreEqual(4, ImageCodec.Load(path).Width);
        CollectionAssert.AreEqual(new[] { "grid.png" }, Directory.GetFiles(folder.Path).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void SavePng_IntoAMissingFolder_ThrowsAndLeavesNothing()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "absent", "image.png");
        var message = Assert.ThrowsExactly<IOException>(() => ImageCodec.SavePng(TestImages.Random(2, 2, 1, seed: 2), path)).Message;
        StringAssert.StartsWith(message, $"PNG file '{path}' cannot be written: ");
        Assert.AreEqual(0, Directory.GetFileSystemEntries(folder.Path).Length);
    }

    [TestMethod]
    public void Load_PicksTheFormatByTheFirstBytesNotTheName()
    {
        using var folder = new TempFolder();
        var png = folder.Write("really-a-png.jpg", ImageCodec.EncodePng(TestImages.Solid(3, 2, [10, 20, 30])));
        var jpeg = folder.Write("really-a-jpeg.png", TestImages.EncodeJpeg(TestImages.Solid(8, 8, [90])));

        // PNG is lossless, so exact bytes tell it was decoded as PNG; a gray JPEG stays one channel.
        var fromPng = ImageCodec.Load(png);
        CollectionAssert.AreEqual(new byte[] { 10, 20, 30 }, fromPng.Pixels[..3].ToArray());
        var fromJpeg = ImageCodec.Load(jpeg);
        Assert.AreEqual((8, 8, 1), (fromJpeg.Width, fromJpeg.Height, fromJpeg.Channels));
        Assert.AreEqual(90, fromJpeg[0, 0, 0], 1);
        Assert.AreEqual(3, ImageCodec.Load(jpeg, channels: 3).Channels);
    }

    [TestMethod]
    public void Load_MissingFile_NamesTheFileAndTheReason()
    {
        using var folder = new TempFolder();
        var path = folder.File("absent.png");
        var message = Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(path)).Message;
        StringAssert.Contains(message, $"'{path}'");
        StringAssert.Contains(message, "Could not find file");
    }

    [TestMethod]
    public void Load_NeitherPngNorJpeg_NamesTheFile()
    {
        using var folder = new TempFolder();
        var path = folder.Write("image.png", "GIF89a and more"u8.ToArray());
        var message = Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(path)).Message;
        StringAssert.Contains(message, $"'{path}'");
        StringAssert.Contains(message, "neither PNG nor JPEG");
    }

    [TestMethod]
    [DataRow("png")]
    [DataRow("jpg")]
    public void Load_EmptyOrSignatureOnlyFile_NamesTheFile(string extension)
    {
        using var folder = new TempFolder();
        var empty = folder.Write($"empty.{extension}", []);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(empty)).Message, $"Image file '{empty}' cannot be decoded: it is empty.");

        byte[] signature = extension == "png" ? [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] : [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
        var bare = folder.Write($"bare.{extension}", signature);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(bare)).Message;
        StringAssert.StartsWith(message, $"{(extension == "png" ? "PNG" : "JPEG")} file '{bare}' cannot be decoded: ");
    }

    [TestMethod]
    [DataRow("png", DisplayName = "PNG cut in half")]
    [DataRow("jpg", DisplayName = "JPEG cut in half")]
    public void Load_TruncatedFile_ThrowsNamingTheFileInsteadOfAPartialPicture(string extension)
    {
        // SkiaSharp decodes the first half of such a file and reports IncompleteInput, leaving the rest blank (measured:
        // the bottom half of the 64×64 JPEG decodes to zeros); ImageCodec refuses it.
        using var folder = new TempFolder();
        var image = TestImages.Smooth(64, 64, 3);
        var whole = extension == "png" ? ImageCodec.EncodePng(TestImages.Random(64, 64, 3, seed: 3)) : TestImages.EncodeJpeg(image);
        Assert.AreEqual(64, ImageCodec.Decode(whole).Width);
        var path = folder.Write($"truncated.{extension}", whole[..(whole.Length / 2)]);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(path)).Message;
        Assert.AreEqual(
            $"{(extension == "png" ? "PNG" : "JPEG")} file '{path}' cannot be decoded: it is truncated: its data ends before its last pixel (SkiaSharp: IncompleteInput).",
            message);
    }

    [TestMethod]
    public void Decode_CorruptHeaderChunk_ThrowsNamingTheSource()
    {
        var bytes = ImageCodec.EncodePng(TestImages.Random(8, 8, 1, seed: 4));
        bytes[20] ^= 0xFF; // inside IHDR's data: its CRC no longer matches
        var message = Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Decode(bytes, source: "corrupt")).Message;
        StringAssert.StartsWith(message, "PNG file 'corrupt' cannot be decoded: ");
        Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Decode([]));
    }

    [TestMethod]
    public void Decode_IndependentlyWrittenGray_MatchesEveryPixel()
    {
        // Rows filtered None, Sub and Up by the reference writer.
        byte[] rows = [0, 50, 100, 150, 200, 250, 7, 7, 7, 255, 0, 128];
        var image = ImageCodec.Decode(ReferencePng.Encode(4, 3, ReferencePng.Gray, 8, rows));
        Assert.AreEqual((4, 3, 1), (image.Width, image.Height, image.Channels));
        CollectionAssert.AreEqual(rows, image.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_IndependentlyWrittenGrayAlpha_GivesTwoChannels()
    {
        byte[] rows = [10, 20, 30, 255, 200, 0];
        var image = ImageCodec.Decode(ReferencePng.Encode(3, 1, ReferencePng.GrayAlpha, 8, rows));
        Assert.AreEqual(2, image.Channels);
        CollectionAssert.AreEqual(rows, image.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_IndependentlyWrittenRgba_MatchesEveryPixelUnpremultiplied()
    {
        var source = TestImages.Random(5, 4, 4, seed: 5);
        source.Pixels[3] = 0; // a transparent pixel keeps its color
        var image = ImageCodec.Decode(ReferencePng.Encode(5, 4, ReferencePng.Rgba, 8, source.Pixels.ToArray()));
        Assert.AreEqual(4, image.Channels);
        CollectionAssert.AreEqual(source.Pixels.ToArray(), image.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_PaletteFile_ExpandsToRgbOrRgba()
    {
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255];
        byte[] indices = [0, 1, 2, 2, 1, 0];
        var rgb = ImageCodec.Decode(ReferencePng.Encode(3, 2, ReferencePng.Palette, 8, indices, palette));
        Assert.AreEqual(3, rgb.Channels);
        CollectionAssert.AreEqual(indices.SelectMany(i => palette[(3 * i)..((3 * i) + 3)]).ToArray(), rgb.Pixels.ToArray());

        // With tRNS the palette has alpha (entry 2 has none in tRNS: opaque).
        var rgba = ImageCodec.Decode(ReferencePng.Encode(3, 2, ReferencePng.Palette, 8, indices, palette, transparency: [0, 128]));
        Assert.AreEqual(4, rgba.Channels);
        byte[] alpha = [0, 128, 255];
        CollectionAssert.AreEqual(
            indices.SelectMany(i => palette[(3 * i)..((3 * i) + 3)].Append(alpha[i])).ToArray(),
            rgba.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_SixteenBitSamples_KeepTheirHighByte()
    {
        // Big-endian 16-bit samples: 0x0000, 0xFFFF, 0x8080 (= 128·257), 0x3333, 0x12FF and 0x7F80. The high byte is kept,
        // as PIL does for 16-bit color: 0x12FF → 18 (rounding v / 257 would give 19), 0x7F80 → 127.
        byte[] rows = [0x00, 0x00, 0xFF, 0xFF, 0x80, 0x80, 0x33, 0x33, 0x12, 0xFF, 0x7F, 0x80];
        var gray = ImageCodec.Decode(ReferencePng.Encode(6, 1, ReferencePng.Gray, 16, rows));
        Assert.AreEqual(1, gray.Channels);
        CollectionAssert.AreEqual(new byte[] { 0, 255, 128, 51, 18, 127 }, gray.Pixels.ToArray());

        var rgba = ImageCodec.Decode(ReferencePng.Encode(1, 1, ReferencePng.Rgba, 16, [0x80, 0x80, 0x40, 0x00, 0xFF, 0xFF, 0x80, 0x00]));
        CollectionAssert.AreEqual(new byte[] { 128, 64, 255, 128 }, rgba.Pixels.ToArray());
    }

    [TestMethod]
    [DataRow(100000, DisplayName = "gAMA 1.0 (linear)")]
    [DataRow(45455, DisplayName = "gAMA 0.45455 (sRGB-like)")]
    [DataRow(22000, DisplayName = "gAMA 0.22")]
    public void Decode_GammaChunk_ReturnsTheStoredValues(int gamma)
    {
        // A gamma-correcting decoder would turn the stored 32 into about 99 (gAMA 1.0 shown on an sRGB display).
        var chunk = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(chunk, gamma);
        var gray = ImageCodec.Decode(ReferencePng.Encode(2, 1, ReferencePng.Gray, 8, [32, 200], chunks: [("gAMA", chunk)]));
        CollectionAssert.AreEqual(new byte[] { 32, 200 }, gray.Pixels.ToArray());
        var rgb = ImageCodec.Decode(ReferencePng.Encode(2, 1, ReferencePng.Rgb, 8, [32, 64, 128, 200, 10, 250], chunks: [("gAMA", chunk)]));
        CollectionAssert.AreEqual(new byte[] { 32, 64, 128, 200, 10, 250 }, rgb.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_RequestedChannels_ConvertsTheFile()
    {
        byte[] gray = [0, 90, 255];
        var png = ReferencePng.Encode(3, 1, ReferencePng.Gray, 8, gray);
        CollectionAssert.AreEqual(gray.SelectMany(v => new[] { v, v, v }).ToArray(), ImageCodec.Decode(png, channels: 3).Pixels.ToArray());
        CollectionAssert.AreEqual(gray.SelectMany(v => new byte[] { v, 255 }).ToArray(), ImageCodec.Decode(png, channels: 2).Pixels.ToArray());

        // Gray RGB stays the same gray; dropping alpha composites onto black, exact at alpha 0 and 255.
        byte[] rgba = [70, 70, 70, 255, 200, 100, 50, 0, 200, 100, 50, 255];
        var colored = ReferencePng.Encode(3, 1, ReferencePng.Rgba, 8, rgba);
        CollectionAssert.AreEqual(new byte[] { 70, 70, 70, 0, 0, 0, 200, 100, 50 }, ImageCodec.Decode(colored, channels: 3).Pixels.ToArray());

        // Luma 0.299·200 + 0.587·100 + 0.114·50 = 124.2; half-transparent white over black: 255 · 128 / 255 = 128.
        CollectionAssert.AreEqual(new byte[] { 70, 0, 124 }, ImageCodec.Decode(colored, channels: 1).Pixels.ToArray());
        var halfWhite = ReferencePng.Encode(1, 1, ReferencePng.Rgba, 8, [255, 255, 255, 128]);
        Assert.AreEqual(128, ImageCodec.Decode(halfWhite, channels: 1).Pixels[0]);
        CollectionAssert.AreEqual(new byte[] { 255, 128 }, ImageCodec.Decode(halfWhite, channels: 2).Pixels.ToArray());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImageCodec.Decode(colored, channels: 5));
    }

    [TestMethod]
    [DataRow(1, DisplayName = "gray")]
    [DataRow(3, DisplayName = "RGB")]
    public void DecodeJpeg_RoundTrip_StaysCloseToTheOriginal(int channels)
    {
        var image = TestImages.Smooth(32, 24, channels);
        var bytes = TestImages.EncodeJpeg(image);
        CollectionAssert.AreEqual(new byte[] { 0xFF, 0xD8, 0xFF }, bytes[..3]);
        var decoded = ImageCodec.Decode(bytes);
        Assert.AreEqual((32, 24, channels), (decoded.Width, decoded.Height, decoded.Channels));
        var psnr = TestImages.Psnr(image, decoded);
        Console.WriteLine($"PSNR {psnr:F2} dB ({channels} channel(s), quality 95, {bytes.Length} bytes)");
        Assert.IsTrue(psnr >= MinimumPsnr, $"PSNR {psnr:F2} dB is below {MinimumPsnr} dB.");
    }

    [TestMethod]
    public void DecodeJpeg_RequestedChannels_ConvertsTheFile()
    {
        var gray = TestImages.EncodeJpeg(TestImages.Solid(8, 8, [120]));
        var asRgb = ImageCodec.Decode(gray, channels: 3);
        Assert.AreEqual(3, asRgb.Channels);
        Assert.AreEqual(120, asRgb[3, 3, 0], 1);
        Assert.AreEqual(120, asRgb[3, 3, 2], 1);

        var color = TestImages.EncodeJpeg(TestImages.Solid(8, 8, [200, 100, 50]));
        var asGray = ImageCodec.Decode(color, channels: 1);
        Assert.AreEqual(1, asGray.Channels);
        Assert.AreEqual(124, asGray[4, 4, 0], 2); // luma 124.2
    }

    [TestMethod]
    [DataRow("png", false, DisplayName = "PNG eXIf, little-endian")]
    [DataRow("png", true, DisplayName = "PNG eXIf, big-endian")]
    [DataRow("jpg", false, DisplayName = "JPEG APP1")]
    public void Load_Orientation6_Turns16By8StoredPixelsInto8By16WithTheLeftHalfOnTop(string format, bool bigEndian)
    {
        // Stored 16 wide × 8 tall: the left half 50, the right half 200. Orientation 6 means "turn 90° clockwise to show".
        var stored = new Image(16, 8, 1);
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 16; x++)
            {
                stored[x, y, 0] = (byte)(x < 8 ? 50 : 200);
            }
        }

        var exif = TestImages.Exif(6, bigEndian);
        var bytes = format == "png"
            ? ReferencePng.Encode(16, 8, ReferencePng.Gray, 8, stored.Pixels.ToArray(), chunks: [("eXIf", exif)])
            : TestImages.WithExif(TestImages.EncodeJpeg(stored, quality: 100), exif);
        var shown = ImageCodec.Decode(bytes);
        Assert.AreEqual((8, 16, 1), (shown.Width, shown.Height, shown.Channels));
        for (var y = 0; y < 16; y++)
        {
            Assert.AreEqual(y < 8 ? 50 : 200, shown[3, y, 0], 2, $"row {y}");
        }
    }

    [TestMethod]
    public void Load_OrientationOutsideOneToEight_LeavesThePixelsAsStored()
    {
        var stored = TestImages.Random(3, 2, 1, seed: 7);
        foreach (var orientation in new[] { 0, 9, 255 })
        {
            var shown = ImageCodec.Decode(ReferencePng.Encode(3, 2, ReferencePng.Gray, 8, stored.Pixels.ToArray(), chunks: [("eXIf", TestImages.Exif(orientation))]));
            CollectionAssert.AreEqual(stored.Pixels.ToArray(), shown.Pixels.ToArray(), $"orientation {orientation}");
        }
    }

    [TestMethod]
    public void Image_BadArguments_AreRejected()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Image(0, 1, 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Image(1, 1, 5));
        Assert.ThrowsExactly<ArgumentException>(() => new Image(2, 2, 1, new byte[3]));
        var image = new Image(2, 1, 3, [1, 2, 3, 4, 5, 6]);
        Assert.AreEqual(5, image[1, 0, 1]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => image[2, 0, 0]);
    }
}
