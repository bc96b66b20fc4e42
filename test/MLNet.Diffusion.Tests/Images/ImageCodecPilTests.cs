using System.Globalization;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Tests.Images;

/// <summary>
/// <see cref="ImageCodec"/> against a second, widely used decoder: Debian's python3-pil (installed by ./build.sh) writes
/// files and says what they hold; PNG must match pixel for pixel, JPEG within a few levels (decoders may differ).
/// </summary>
[TestClass]
public sealed class ImageCodecPilTests
{
    /// <summary>
    /// The largest difference allowed between PIL's and our decoding of the same JPEG. PIL 9.4 and SkiaSharp 2.88.9 both
    /// use libjpeg-turbo; measured: 0 on the three files of <see cref="Jpeg_PilWrittenFile_DecodesAsPilDecodesIt"/>
    /// (4:2:0, progressive 4:4:4, gray). The bound allows other builds.
    /// </summary>
    private const int JpegTolerance = 2;

    [TestInitialize]
    public void RequirePil() => DebianPython.RequirePil();

    [TestMethod]
    public void Png_EveryModePilWrites_DecodesPixelForPixelAsPilReadsIt()
    {
        using var folder = new TempFolder();

        // Random 7×5 images in each mode; PIL prints what it reads: bytes for 8-bit modes, the high byte for 16-bit
        // (as PIL converts 16-bit color), palettes expanded to RGB or, with transparency, RGBA.
        const string Script = """
            import os, random, sys
            from PIL import Image, PngImagePlugin
            random.seed(11)
            folder = sys.argv[1]
            def noise(mode, bands):
                return Image.frombytes(mode, (7, 5), bytes(random.randrange(256) for _ in range(35 * bands)))
            files = {'L': noise('L', 1), 'LA': noise('LA', 2), 'RGB': noise('RGB', 3), 'RGBA': noise('RGBA', 4)}
            p = Image.frombytes('P', (7, 5), bytes(random.randrange(6) for _ in range(35)))
            p.putpalette([random.randrange(256) for _ in range(18)])
            files['P'] = p
            pt = p.copy(); pt.info['transparency'] = bytes([0, 90, 255, 30]); files['PT'] = pt
            i16 = Image.new('I;16', (7, 5)); i16.putdata([random.randrange(65536) for _ in range(35)]); files['I16'] = i16
            for name, im in files.items():
                path = os.path.join(folder, name + '.png')
                if name == 'PT':
                    im.save(path, transparency=im.info['transparency'])
                else:
                    im.save(path)
                back = Image.open(path)
                if back.mode == 'P':
                    back = back.convert('RGBA' if 'transparency' in back.info else 'RGB')
                if back.mode in ('I', 'I;16'):
                    data = bytes(v >> 8 for v in back.getdata()); bands = 1
                else:
                    data = back.tobytes(); bands = len(back.getbands())
                print(name, back.size[0], back.size[1], bands, data.hex())
            """;
        var output = Run(Script, folder.Path);
        var lines = output.Trim().Split('\n');
        Assert.AreEqual(7, lines.Length, output);
        foreach (var line in lines)
        {
            var fields = line.Trim().Split(' ');
            var image = ImageCodec.Load(folder.File(fields[0] + ".png"));
            Assert.AreEqual(
                (int.Parse(fields[1], CultureInfo.InvariantCulture), int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture)),
                (image.Width, image.Height, image.Channels), fields[0]);
            CollectionAssert.AreEqual(Convert.FromHexString(fields[4]), image.Pixels.ToArray(), fields[0]);
        }
    }

    [TestMethod]
    public void Png_GammaChunkWrittenByPil_BothDecodersReturnTheStoredValue()
    {
        using var folder = new TempFolder();
        var path = folder.File("gamma.png");
        var read = Run("""
            import sys
            from PIL import Image, PngImagePlugin
            info = PngImagePlugin.PngInfo(); info.add(b'gAMA', (100000).to_bytes(4, 'big'))
            Image.new('L', (2, 2), 32).save(sys.argv[1], pnginfo=info)
            im = Image.open(sys.argv[1]); print(im.info.get('gamma'), im.getpixel((0, 0)))
            """, path);
        Assert.AreEqual("1.0 32", read.Trim());
        Assert.IsTrue(ImageCodec.Load(path).Pixels.ToArray().All(v => v == 32));
    }

    [TestMethod]
    public void Png_OursReadByPil_IsEveryByte()
    {
        using var folder = new TempFolder();
        var gray = TestImages.Random(3, 2, 1, seed: 6);
        var rgb = TestImages.Random(3, 2, 3, seed: 7);
        var rgba = TestImages.Random(3, 2, 4, seed: 8);
        ImageCodec.SavePng(gray, folder.File("gray.png"));
        ImageCodec.SavePng(rgb, folder.File("rgb.png"));
        ImageCodec.SavePng(rgba, folder.File("rgba.png"));
        var read = Run(
            "import sys; from PIL import Image\n" +
            "for path in sys.argv[1:]:\n" +
            "    im = Image.open(path); print(im.mode, im.size[0], im.size[1], im.tobytes().hex())",
            folder.File("gray.png"), folder.File("rgb.png"), folder.File("rgba.png"));
        var lines = read.Trim().Split('\n');
        Assert.AreEqual($"L 3 2 {Convert.ToHexStringLower(gray.Pixels)}", lines[0].Trim());
        Assert.AreEqual($"RGB 3 2 {Convert.ToHexStringLower(rgb.Pixels)}", lines[1].Trim());
        Assert.AreEqual($"RGBA 3 2 {Convert.ToHexStringLower(rgba.Pixels)}", lines[2].Trim());
    }

    [TestMethod]
    [DataRow("RGB", 2, false, DisplayName = "RGB, 4:2:0, baseline")]
    [DataRow("RGB", 0, true, DisplayName = "RGB, 4:4:4, progressive")]
    [DataRow("L", 0, false, DisplayName = "gray")]
    public void Jpeg_PilWrittenFile_DecodesAsPilDecodesIt(string mode, int subsampling, bool progressive)
    {
        using var folder = new TempFolder();
        var path = folder.File("pil.jpg");
        var read = Run("""
            import math, sys
            from PIL import Image
            mode, subsampling, progressive = sys.argv[2], int(sys.argv[3]), sys.argv[4] == 'True'
            im = Image.new('RGB', (40, 24))
            im.putdata([(int(128 + 60 * math.sin(x / 5)), int(128 + 50 * math.cos(y / 4)), (x * 6 + y * 3) % 256) for y in range(24) for x in range(40)])
            im.convert(mode).save(sys.argv[1], quality=90, subsampling=subsampling, progressive=progressive)
            back = Image.open(sys.argv[1]); print(back.mode, back.size[0], back.size[1], back.tobytes().hex())
            """, path, mode, subsampling.ToString(CultureInfo.InvariantCulture), progressive.ToString());
        var fields = read.Trim().Split(' ');
        var expected = Convert.FromHexString(fields[3]);
        var ours = ImageCodec.Load(path);
        Assert.AreEqual((40, 24, mode == "L" ? 1 : 3), (ours.Width, ours.Height, ours.Channels));
        var largest = expected.Zip(ours.Pixels.ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Console.WriteLine($"largest difference from PIL: {largest}");
        Assert.IsTrue(largest <= JpegTolerance, $"largest difference from PIL {largest} > {JpegTolerance}");
    }

    [TestMethod]
    public void Jpeg_OursReadByPil_HasTheColor()
    {
        using var folder = new TempFolder();
        var ours = folder.File("ours.jpg");
        TestImages.SaveJpeg(TestImages.Solid(12, 10, [30, 160, 220]), ours);
        var read = Run(
            "import sys; from PIL import Image, ImageStat; im = Image.open(sys.argv[1]); " +
            "print(im.format, im.mode, im.size[0], im.size[1], *[round(m) for m in ImageStat.Stat(im).mean])", ours);
        var fields = read.Trim().Split(' ');
        CollectionAssert.AreEqual(new[] { "JPEG", "RGB", "12", "10" }, fields[..4]);
        var means = fields[4..].Select(f => int.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        Assert.AreEqual(30, means[0], 2);
        Assert.AreEqual(160, means[1], 2);
        Assert.AreEqual(220, means[2], 2);
    }

    [TestMethod]
    [DataRow("adobe", DisplayName = "CMYK, Adobe-inverted (as PIL writes it)")]
    [DataRow("plain", DisplayName = "CMYK without the Adobe marker")]
    [DataRow("ycck", DisplayName = "YCCK")]
    public void Jpeg_CmykQuadrants_DecodeToRgbAsPilDoes(string kind)
    {
        // 32×32, 16×16 quadrants of cyan, magenta, yellow and white ink. PIL stores mode CMYK inverted, with an Adobe APP14
        // marker (transform 0); "plain" drops that marker; "ycck" stores the same colors as YCCK (transform 2): the first
        // three channels carry YCbCr of (255 − C', 255 − M', 255 − Y') for the stored C', M', Y'. PIL reads every kind as
        // Adobe-inverted CMYK and converts it to RGB as (255 − c)(255 − k) / 255.
        using var folder = new TempFolder();
        var path = folder.File($"{kind}.jpg");
        var read = Run("""
            import sys
            from PIL import Image
            path, kind = sys.argv[1], sys.argv[2]
            inks = {(0, 0): (255, 0, 0, 0), (1, 0): (0, 255, 0, 0), (0, 1): (0, 0, 255, 0), (1, 1): (0, 0, 0, 0)}
            def ycc(r, g, b):
                c = lambda v: max(0, min(255, round(v)))
                return (c(0.299 * r + 0.587 * g + 0.114 * b), c(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
                        c(0.5 * r - 0.418688 * g - 0.081312 * b + 128))
            im = Image.new('CMYK', (32, 32)); px = im.load()
            for y in range(32):
                for x in range(32):
                    ink = inks[(x // 16, y // 16)]
                    if kind == 'ycck':
                        stored = [255 - v for v in ink]  # what a CMYK decoder outputs for these inks
                        channels = list(ycc(*[255 - v for v in stored[:3]])) + [stored[3]]
                        px[x, y] = tuple(255 - v for v in channels)  # PIL inverts CMYK on saving
                    else:
                        px[x, y] = ink
            im.save(path, quality=100, subsampling=0)
            data = bytearray(open(path, 'rb').read())
            assert data[6:11] == b'Adobe', 'PIL wrote no Adobe marker first'
            if kind == 'ycck':
                data[17] = 2
            elif kind == 'plain':
                data = data[:2] + data[18:]
            open(path, 'wb').write(bytes(data))
            back = Image.open(path); rgb = back.convert('RGB')
            print(back.mode, back.info.get('adobe_transform'), *[v for p in [(8, 8), (24, 8), (8, 24), (24, 24)] for v in rgb.getpixel(p)])
            """, path, kind);
        var fields = read.Trim().Split(' ');
        Assert.AreEqual("CMYK", fields[0]);
        Assert.AreEqual(kind switch { "adobe" => "0", "ycck" => "2", _ => "None" }, fields[1]);
        var pil = fields[2..].Select(f => int.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var image = ImageCodec.Load(path);
        Assert.AreEqual((32, 32, 3), (image.Width, image.Height, image.Channels));
        int[] expected = [0, 255, 255, 255, 0, 255, 255, 255, 0, 255, 255, 255]; // cyan, magenta, yellow, white
        var points = new[] { (8, 8), (24, 8), (8, 24), (24, 24) };
        for (var q = 0; q < 4; q++)
        {
            for (var c = 0; c < 3; c++)
            {
                var ours = image[points[q].Item1, points[q].Item2, c];
                Assert.AreEqual(expected[(3 * q) + c], ours, 2, $"quadrant {q}, channel {c}");
                Assert.AreEqual(pil[(3 * q) + c], ours, JpegTolerance, $"quadrant {q}, channel {c} against PIL");
            }
        }
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    [DataRow(4)]
    [DataRow(5)]
    [DataRow(6)]
    [DataRow(7)]
    [DataRow(8)]
    public void ExifOrientation_EachValue_MatchesPilsExifTranspose(int orientation)
    {
        // 32×16 stored, eight 8×8 blocks of distinct colors, so each orientation gives a different picture. PIL writes it
        // as JPEG (EXIF in APP1) and PNG (an eXIf chunk) and prints what ImageOps.exif_transpose shows.
        using var folder = new TempFolder();
        var read = Run("""
            import sys
            from PIL import Image, ImageOps
            jpeg, png, orientation = sys.argv[1], sys.argv[2], int(sys.argv[3])
            colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (255, 255, 255), (0, 0, 0)]
            im = Image.new('RGB', (32, 16))
            im.putdata([colors[(y // 8) * 4 + x // 8] for y in range(16) for x in range(32)])
            exif = Image.Exif(); exif[0x0112] = orientation
            im.save(jpeg, quality=100, subsampling=0, exif=exif)
            im.save(png, exif=exif)
            for path in (jpeg, png):
                shown = ImageOps.exif_transpose(Image.open(path))
                print(shown.size[0], shown.size[1], shown.tobytes().hex())
            """, folder.File("image.jpg"), folder.File("image.png"), orientation.ToString(CultureInfo.InvariantCulture));
        var lines = read.Trim().Split('\n');
        var swapped = orientation >= 5;
        for (var i = 0; i < 2; i++)
        {
            var fields = lines[i].Trim().Split(' ');
            var image = ImageCodec.Load(folder.File(i == 0 ? "image.jpg" : "image.png"));
            Assert.AreEqual(swapped ? "16 32" : "32 16", $"{fields[0]} {fields[1]}", "PIL's size");
            Assert.AreEqual((swapped ? 16 : 32, swapped ? 32 : 16), (image.Width, image.Height));
            var expected = Convert.FromHexString(fields[2]);
            if (i == 1)
            {
                CollectionAssert.AreEqual(expected, image.Pixels.ToArray(), "PNG, pixel for pixel");
            }
            else
            {
                var largest = expected.Zip(image.Pixels.ToArray(), (a, b) => Math.Abs(a - b)).Max();
                Assert.IsTrue(largest <= JpegTolerance, $"JPEG: largest difference from PIL {largest}");
            }
        }
    }

    private static string Run(string script, params string[] arguments)
    {
        var (exitCode, output) = DebianPython.Run(script, arguments);
        Assert.AreEqual(0, exitCode, output);
        return output;
    }
}
