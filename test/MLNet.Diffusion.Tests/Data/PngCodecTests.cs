using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Tests.Data;

[TestClass]
public sealed class PngCodecTests
{
    [TestMethod]
    [DataRow(1, DisplayName = "gray")]
    [DataRow(2, DisplayName = "gray + alpha")]
    [DataRow(3, DisplayName = "RGB")]
    [DataRow(4, DisplayName = "RGBA")]
    public void EncodeDecode_RoundTripsEveryByte(int channels)
    {
        var image = RandomImage(7, 5, channels, seed: channels);
        var bytes = PngCodec.Encode(image);
        CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        var decoded = PngCodec.Decode(bytes);
        Assert.AreEqual((7, 5, channels), (decoded.Width, decoded.Height, decoded.Channels));
        CollectionAssert.AreEqual(image.Pixels.ToArray(), decoded.Pixels.ToArray());
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    [DataRow(4)]
    public void SaveLoad_RoundTripsThroughAFile(int channels)
    {
        using var folder = new TempFolder();
        var path = folder.File("image.png");
        var image = RandomImage(16, 3, channels, seed: 10 + channels);
        PngCodec.Save(image, path);
        var loaded = PngCodec.Load(path);
        Assert.AreEqual((16, 3, channels), (loaded.Width, loaded.Height, loaded.Channels));
        CollectionAssert.AreEqual(image.Pixels.ToArray(), loaded.Pixels.ToArray());
    }

    [TestMethod]
    public void Save_ExistingFile_IsReplacedAndNoTemporaryFileRemains()
    {
        using var folder = new TempFolder();
        var path = folder.Write("grid.png", [1, 2, 3]);
        PngCodec.Save(RandomImage(4, 4, 3, seed: 1), path);
        Assert.AreEqual(4, PngCodec.Load(path).Width);
        CollectionAssert.AreEqual(new[] { "grid.png" }, Directory.GetFiles(folder.Path).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void Save_IntoAMissingFolder_ThrowsAndLeavesNothing()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "absent", "image.png");
        var message = Assert.ThrowsExactly<IOException>(() => PngCodec.Save(RandomImage(2, 2, 1, seed: 2), path)).Message;
        StringAssert.StartsWith(message, $"PNG file '{path}' cannot be written: ");
        Assert.AreEqual(0, Directory.GetFileSystemEntries(folder.Path).Length);
    }

    [TestMethod]
    public void Load_MissingFile_NamesTheFileAndTheReason()
    {
        using var folder = new TempFolder();
        var path = folder.File("absent.png");
        var message = Assert.ThrowsExactly<InvalidDataException>(() => PngCodec.Load(path)).Message;
        StringAssert.Contains(message, $"'{path}'");
        StringAssert.Contains(message, "No such file or directory");
    }

    [TestMethod]
    public void Load_NotAPng_NamesTheFileAndLibpngsMessage()
    {
        using var folder = new TempFolder();
        var path = folder.Write("text.png", "This is not a PNG file, whatever its name says."u8.ToArray());
        var message = Assert.ThrowsExactly<InvalidDataException>(() => PngCodec.Load(path)).Message;
        StringAssert.Contains(message, $"'{path}'");
        StringAssert.Contains(message, "Not a PNG file");
    }

    [TestMethod]
    public void Load_TruncatedFile_NamesTheFileAndLibpngsMessage()
    {
        using var folder = new TempFolder();
        var whole = PngCodec.Encode(RandomImage(32, 32, 3, seed: 3));
        var path = folder.Write("truncated.png", whole[..(whole.Length / 2)]);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => PngCodec.Load(path)).Message;
        StringAssert.Contains(message, $"'{path}'");
        StringAssert.Contains(message, "cannot be decoded: Read Error"); // libpng's message when the file ends early
        var fromMemory = Assert.ThrowsExactly<InvalidDataException>(() => PngCodec.Decode(whole.AsSpan(0, whole.Length / 2), source: "half")).Message;
        StringAssert.Contains(fromMemory, "PNG file 'half' cannot be decoded: read beyond end of data");
    }

    [TestMethod]
    public void Decode_CorruptChunk_CarriesLibpngsMessage()
    {
        var bytes = PngCodec.Encode(RandomImage(8, 8, 1, seed: 4));
        bytes[20] ^= 0xFF; // inside IHDR's data: its CRC no longer matches
        var message = Assert.ThrowsExactly<InvalidDataException>(() => PngCodec.Decode(bytes, source: "corrupt")).Message;
        StringAssert.StartsWith(message, "PNG file 'corrupt' cannot be decoded: ");
        StringAssert.Contains(message, "CRC");
        Assert.ThrowsExactly<InvalidDataException>(() => PngCodec.Decode([]));
    }

    [TestMethod]
    public void Decode_IndependentlyWrittenGray_MatchesEveryPixel()
    {
        // Rows filtered None, Sub and Up by the reference writer.
        byte[] rows = [0, 50, 100, 150, 200, 250, 7, 7, 7, 255, 0, 128];
        var image = PngCodec.Decode(ReferencePng.Encode(4, 3, ReferencePng.Gray, 8, rows));
        Assert.AreEqual((4, 3, 1), (image.Width, image.Height, image.Channels));
        CollectionAssert.AreEqual(rows, image.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_IndependentlyWrittenRgba_MatchesEveryPixel()
    {
        var source = RandomImage(5, 4, 4, seed: 5);
        var image = PngCodec.Decode(ReferencePng.Encode(5, 4, ReferencePng.Rgba, 8, source.Pixels.ToArray()));
        Assert.AreEqual(4, image.Channels);
        CollectionAssert.AreEqual(source.Pixels.ToArray(), image.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_PaletteFile_ExpandsToRgbOrRgba()
    {
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255];
        byte[] indices = [0, 1, 2, 2, 1, 0];
        var rgb = PngCodec.Decode(ReferencePng.Encode(3, 2, ReferencePng.Palette, 8, indices, palette));
        Assert.AreEqual(3, rgb.Channels);
        CollectionAssert.AreEqual(indices.SelectMany(i => palette[(3 * i)..((3 * i) + 3)]).ToArray(), rgb.Pixels.ToArray());

        // With tRNS the palette has alpha (entry 2 has none in tRNS: opaque).
        var rgba = PngCodec.Decode(ReferencePng.Encode(3, 2, ReferencePng.Palette, 8, indices, palette, transparency: [0, 128]));
        Assert.AreEqual(4, rgba.Channels);
        byte[] alpha = [0, 128, 255];
        CollectionAssert.AreEqual(
            indices.SelectMany(i => palette[(3 * i)..((3 * i) + 3)].Append(alpha[i])).ToArray(),
            rgba.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_SixteenBitGrayWithoutGamma_ReducesTo8BitsAsSrgb()
    {
        // Big-endian 16-bit samples 0x0000, 0xFFFF, 0x8080 (= 128·257) and 0x3333 (= 51·257). Without a gAMA chunk
        // they are taken as sRGB-encoded, so v → v / 257 (libpng's default, linear, would give 186 for 0x8080).
        byte[] rows = [0x00, 0x00, 0xFF, 0xFF, 0x80, 0x80, 0x33, 0x33];
        var image = PngCodec.Decode(ReferencePng.Encode(4, 1, ReferencePng.Gray, 16, rows));
        Assert.AreEqual(1, image.Channels);
        CollectionAssert.AreEqual(new byte[] { 0, 255, 128, 51 }, image.Pixels.ToArray());
    }

    [TestMethod]
    public void Decode_RequestedChannels_ConvertsTheFile()
    {
        byte[] gray = [0, 90, 255];
        var png = ReferencePng.Encode(3, 1, ReferencePng.Gray, 8, gray);
        CollectionAssert.AreEqual(gray.SelectMany(v => new[] { v, v, v }).ToArray(), PngCodec.Decode(png, channels: 3).Pixels.ToArray());
        CollectionAssert.AreEqual(gray.SelectMany(v => new byte[] { v, 255 }).ToArray(), PngCodec.Decode(png, channels: 2).Pixels.ToArray());

        // Gray RGB stays the same gray; dropping alpha composites onto black, exact at alpha 0 and 255.
        byte[] rgba = [70, 70, 70, 255, 200, 100, 50, 0, 200, 100, 50, 255];
        var colored = ReferencePng.Encode(3, 1, ReferencePng.Rgba, 8, rgba);
        CollectionAssert.AreEqual(new byte[] { 70, 70, 70, 0, 0, 0, 200, 100, 50 }, PngCodec.Decode(colored, channels: 3).Pixels.ToArray());
        Assert.AreEqual(70, PngCodec.Decode(colored, channels: 1).Pixels[0]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PngCodec.Decode(colored, channels: 5));
    }

    [TestMethod]
    public void PythonImagingLibrary_ReadsOursAndWritesWhatWeRead()
    {
        // A cross-check with a second, widely used PNG implementation (Debian's python3-pil, installed by ./build.sh);
        // ReferencePng covers the same ground with a writer built from the specification.
        DebianPython.RequirePil();

        using var folder = new TempFolder();
        var ours = folder.File("ours.png");
        var image = RandomImage(3, 2, 4, seed: 6);
        PngCodec.Save(image, ours);
        var read = DebianPython.Run("import sys; from PIL import Image; im = Image.open(sys.argv[1]); " +
            "print(im.mode, im.size[0], im.size[1], ' '.join(str(c) for p in im.getdata() for c in p))", ours);
        Assert.AreEqual(0, read.ExitCode, read.Output);
        Assert.AreEqual($"RGBA 3 2 {string.Join(' ', image.Pixels.ToArray())}", read.Output.Trim());

        var palette = folder.File("palette.png");
        var sixteen = folder.File("sixteen.png");
        var written = DebianPython.Run(
            "import sys; from PIL import Image\n" +
            "p = Image.new('P', (3, 1)); p.putpalette([10, 20, 30, 40, 50, 60, 70, 80, 90]); p.putdata([2, 0, 1]); p.save(sys.argv[1])\n" +
            "g = Image.new('I;16', (3, 1)); g.putdata([0, 65535, 32896]); g.save(sys.argv[2])\n" +
            "print(Image.open(sys.argv[1]).mode, Image.open(sys.argv[2]).mode)",
            palette, sixteen);
        Assert.AreEqual(0, written.ExitCode, written.Output);
        var fromPalette = PngCodec.Load(palette);
        Assert.AreEqual((3, 1, 3), (fromPalette.Width, fromPalette.Height, fromPalette.Channels));
        CollectionAssert.AreEqual(new byte[] { 70, 80, 90, 10, 20, 30, 40, 50, 60 }, fromPalette.Pixels.ToArray());
        var fromSixteen = PngCodec.Load(sixteen);
        Assert.AreEqual((3, 1, 1), (fromSixteen.Width, fromSixteen.Height, fromSixteen.Channels));
        CollectionAssert.AreEqual(new byte[] { 0, 255, 128 }, fromSixteen.Pixels.ToArray());
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

    private static Image RandomImage(int width, int height, int channels, int seed)
    {
        var pixels = new byte[width * height * channels];
        new Random(seed).NextBytes(pixels);
        return new Image(width, height, channels, pixels);
    }
}
