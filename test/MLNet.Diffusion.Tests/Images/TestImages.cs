using System.Runtime.InteropServices;
using SkiaSharp;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Tests.Images;

/// <summary>Images for the tests: solid, random and smooth ones, and JPEG files of them (the library writes only PNG).</summary>
internal static class TestImages
{
    /// <summary>A <paramref name="width"/> × <paramref name="height"/> image of one color; its length is the channel count.</summary>
    public static Image Solid(int width, int height, byte[] color)
    {
        var image = new Image(width, height, color.Length);
        for (var i = 0; i < image.Pixels.Length; i++)
        {
            image.Pixels[i] = color[i % color.Length];
        }

        return image;
    }

    /// <summary>Uniformly random bytes, the same for the same seed.</summary>
    public static Image Random(int width, int height, int channels, int seed)
    {
        var pixels = new byte[width * height * channels];
        new Random(seed).NextBytes(pixels);
        return new Image(width, height, channels, pixels);
    }

    /// <summary>Smooth gradients with a gentle wave, the kind of content JPEG is made for.</summary>
    public static Image Smooth(int width, int height, int channels)
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

    /// <summary>
    /// A gray (1 channel) or RGB (3 channels) image as JPEG bytes, written by SkiaSharp's encoder at
    /// <paramref name="quality"/> without chroma subsampling.
    /// </summary>
    public static byte[] EncodeJpeg(Image image, int quality = 95)
    {
        if (image.Channels is not (1 or 3))
        {
            throw new ArgumentException($"A test JPEG is gray or RGB; the {image} is neither.", nameof(image));
        }

        var gray = image.Channels == 1;
        var pixels = new byte[image.Width * image.Height * (gray ? 1 : 4)];
        for (var p = 0; p < image.Width * image.Height; p++)
        {
            if (gray)
            {
                pixels[p] = image.Pixels[p];
            }
            else
            {
                image.Pixels.Slice(p * 3, 3).CopyTo(pixels.AsSpan(p * 4));
                pixels[(p * 4) + 3] = 255;
            }
        }

        var info = new SKImageInfo(image.Width, image.Height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque);
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var data = pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample444, SKJpegEncoderAlphaOption.Ignore));
            return data.ToArray();
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>Writes <paramref name="image"/> as a JPEG file at <paramref name="path"/>.</summary>
    public static void SaveJpeg(Image image, string path, int quality = 95) => File.WriteAllBytes(path, EncodeJpeg(image, quality));

    /// <summary>
    /// EXIF data holding one orientation tag (0x0112, SHORT): a TIFF header, little-endian ("II") or big-endian ("MM"),
    /// and one IFD with one entry.
    /// </summary>
    public static byte[] Exif(int orientation, bool bigEndian = false)
    {
        byte[] le = [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, (byte)orientation, 0, 0, 0, 0, 0, 0, 0];
        byte[] be = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, 0, 0, 0, 0];
        return bigEndian ? be : le;
    }

    /// <summary><paramref name="jpeg"/> with an APP1 "Exif" segment holding <paramref name="exif"/> right after its start marker.</summary>
    public static byte[] WithExif(byte[] jpeg, byte[] exif)
    {
        var length = 2 + 6 + exif.Length;
        byte[] segment = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. "Exif\0\0"u8, .. exif];
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }

    /// <summary>The peak signal-to-noise ratio of <paramref name="b"/> against <paramref name="a"/>, in dB.</summary>
    public static double Psnr(Image a, Image b)
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
