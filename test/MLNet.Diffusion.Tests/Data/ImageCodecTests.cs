using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Tests.Data;

[TestClass]
public sealed class ImageCodecTests
{
    [TestMethod]
    public void Load_PicksTheCodecByTheFirstBytesNotTheName()
    {
        using var folder = new TempFolder();
        var png = folder.Write("really-a-png.jpg", PngCodec.Encode(JpegCodecTests.SolidImage(3, 2, [10, 20, 30])));
        var jpeg = folder.Write("really-a-jpeg.png", JpegCodec.Encode(JpegCodecTests.SolidImage(8, 8, [90])));

        // PNG is lossless, so exact bytes tell it was decoded by PngCodec; JPEG gray stays one channel.
        var fromPng = ImageCodec.Load(png);
        CollectionAssert.AreEqual(new byte[] { 10, 20, 30 }, fromPng.Pixels[..3].ToArray());
        var fromJpeg = ImageCodec.Load(jpeg);
        Assert.AreEqual((8, 8, 1), (fromJpeg.Width, fromJpeg.Height, fromJpeg.Channels));
        Assert.AreEqual(90, fromJpeg[0, 0, 0], 1);
        Assert.AreEqual(3, ImageCodec.Load(jpeg, channels: 3).Channels);
    }

    [TestMethod]
    public void Load_NeitherPngNorJpeg_NamesTheFile()
    {
        using var folder = new TempFolder();
        var path = folder.Write("image.png", "GIF89a and more"u8.ToArray());
        var message = Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(path)).Message;
        StringAssert.Contains(message, $"'{path}'");
        StringAssert.Contains(message, "neither PNG nor JPEG");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ImageCodec.Load(folder.File("absent.png"))).Message, "absent.png");
    }
}
