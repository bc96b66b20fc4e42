using System.Runtime.InteropServices;
using MLNet.Diffusion.IO;
using SkiaSharp;

namespace MLNet.Diffusion.Images;

/// <summary>
/// Reads PNG and JPEG files, telling them apart by their first bytes rather than by their names, and writes PNG files;
/// both through SkiaSharp, the library ML.NET's ImageAnalytics uses. docs/images.md describes every rule below.
/// </summary>
/// <remarks>
/// <para>
/// Decoding gives the pixels as a person sees them, 8 bits per channel and alpha not premultiplied: gray files give
/// 1 channel, gray + alpha 2, RGB 3 and RGBA 4; palette files give RGB, or RGBA when they have transparency; JPEG files
/// give gray or RGB, with CMYK and YCCK files converted to RGB as PIL converts them (Adobe's inverted CMYK). 16-bit PNG
/// samples keep their high byte. An EXIF orientation (JPEG APP1 or PNG eXIf, values 1–8) is applied, so that a photo
/// stored sideways loads upright. The stored color values are returned as they are: a PNG gAMA, cHRM, sRGB or iCCP chunk
/// and a JPEG ICC profile are not applied, as PIL and torchvision do not apply them.
/// </para>
/// <para>
/// A missing, empty, corrupt or truncated file raises one <see cref="InvalidDataException"/> naming the file. SkiaSharp
/// decodes a truncated file into a partial picture and reports it only as incomplete; such a file is an error here,
/// since training data must be whole.
/// </para>
/// </remarks>
public static class ImageCodec
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReadOnlySpan<byte> JpegSignature => [0xFF, 0xD8, 0xFF];

    /// <summary>Decodes the PNG (starting 89 50 4E 47) or JPEG (starting FF D8 FF) file at <paramref name="path"/>.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="channels">
    /// The channel count of the result: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA, or 0 (the default) for the file's own.
    /// Gray becomes RGB by repeating it, RGB becomes gray by the luma weights 0.299, 0.587, 0.114, and removing alpha
    /// composites the image onto black.
    /// </param>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, empty, corrupt, truncated, or neither PNG nor JPEG; the message names it.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is not 0 to 4.</exception>
    public static Image Load(string path, int channels = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckChannels(channels);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Image file '{path}' cannot be read: {ex.Message}", ex);
        }

        return Decode(bytes, channels, path);
    }

    /// <summary>Decodes the bytes of a PNG or JPEG file, by the same rules as <see cref="Load(string, int)"/>.</summary>
    /// <param name="encoded">The encoded bytes.</param>
    /// <param name="channels">The channel count of the result, as for <see cref="Load(string, int)"/>; 0 keeps the file's own.</param>
    /// <param name="source">What the bytes are, for error messages.</param>
    /// <exception cref="InvalidDataException">The bytes are empty, corrupt, truncated, or neither PNG nor JPEG; the message names <paramref name="source"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is not 0 to 4.</exception>
    public static Image Decode(ReadOnlySpan<byte> encoded, int channels = 0, string source = "(memory)")
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckChannels(channels);
        if (encoded.IsEmpty)
        {
            throw new InvalidDataException($"Image file '{source}' cannot be decoded: it is empty.");
        }

        var isPng = encoded.StartsWith(PngSignature);
        if (!isPng && !encoded.StartsWith(JpegSignature))
        {
            throw new InvalidDataException($"Image file '{source}' is neither PNG nor JPEG: it does not start with a PNG or JPEG signature.");
        }

        var (image, orientation) = DecodeWithSkia(encoded, isPng, source);
        image = ImageOrientation.Apply(image, orientation);
        return channels == 0 || channels == image.Channels ? image : ConvertChannels(image, channels);
    }

    /// <summary>
    /// Encodes <paramref name="image"/> as an 8-bit PNG file at <paramref name="path"/>. The bytes go to a temporary file
    /// in the same folder, which then replaces <paramref name="path"/>: an existing file is never left half-written.
    /// </summary>
    /// <param name="image">The image; see <see cref="EncodePng(Image)"/> for how each channel count is stored.</param>
    /// <param name="path">The file to write.</param>
    /// <exception cref="IOException">The file cannot be written (the message names it and says why), or SkiaSharp failed to encode the image.</exception>
    public static void SavePng(Image image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = EncodePng(image);
        try
        {
            AtomicFile.Write(path, bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"PNG file '{path}' cannot be written: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Encodes <paramref name="image"/> as the bytes of an 8-bit PNG file: gray, RGB or RGBA as it has, without a
    /// color-space chunk. A gray + alpha image is written as RGBA (SkiaSharp's PNG encoder has no gray + alpha format),
    /// so it loads back with 4 channels.
    /// </summary>
    /// <exception cref="IOException">SkiaSharp failed to encode the image.</exception>
    public static byte[] EncodePng(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (width, height) = (image.Width, image.Height);
        var gray = image.Channels == 1;
        var info = new SKImageInfo(width, height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888,
            image.HasAlpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque);

        // Skia reads the pixels from native memory: a pinned copy, widened to 4 bytes a pixel unless gray.
        var bytesPerPixel = gray ? 1 : 4;
        var pixels = new byte[checked(width * height * bytesPerPixel)];
        if (gray)
        {
            image.Pixels.CopyTo(pixels);
        }
        else
        {
            ToRgba(image, pixels);
        }

        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), width * bytesPerPixel);
            using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, zLibLevel: 6));
            return data?.ToArray() ?? throw new IOException($"SkiaSharp could not encode the {image} as PNG.");
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>The stored pixels, and the EXIF orientation (1–8) to show them in.</summary>
    private static (Image Image, int Orientation) DecodeWithSkia(ReadOnlySpan<byte> encoded, bool isPng, string source)
    {
        var kind = isPng ? "PNG" : "JPEG";

        // The codec owns the stream from here on, and frees it with itself (or at once when it cannot be created).
        var stream = new SKMemoryStream(encoded.ToArray());
        using var codec = SKCodec.Create(stream, out var created);
        if (codec is null)
        {
            throw Undecodable(kind, source, created);
        }

        var info = codec.Info;
        var (width, height) = (info.Width, info.Height);
        var hasAlpha = info.AlphaType != SKAlphaType.Opaque;

        // Skia has no gray + alpha format: such files (PNG color type 4, or gray with a tRNS color key) decode as RGBA.
        var gray = isPng ? encoded.Length > 25 && encoded[25] is 0 or 4 : info.ColorType == SKColorType.Gray8;
        var channels = (gray ? 1 : 3) + (hasAlpha ? 1 : 0);
        try
        {
            Image.Validate(width, height, 4);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new InvalidDataException($"{kind} file '{source}' cannot be decoded: its {width}×{height} pixels do not fit in one array.");
        }

        // No color space on the destination: Skia converts nothing, so the stored values come back (gAMA, ICC ignored).
        // Alpha stays unpremultiplied, as files store it.
        var decodeGray = gray && !hasAlpha;
        var target = new SKImageInfo(width, height, decodeGray ? SKColorType.Gray8 : SKColorType.Rgba8888,
            hasAlpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        var decoded = new byte[width * height * (decodeGray ? 1 : 4)];
        var handle = GCHandle.Alloc(decoded, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            result = codec.GetPixels(target, handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }

        if (result != SKCodecResult.Success)
        {
            throw Undecodable(kind, source, result);
        }

        // Skia reads a JPEG's EXIF orientation but not a PNG's eXIf chunk, and applies neither.
        var orientation = (int)codec.EncodedOrigin;
        if (isPng && orientation == 1)
        {
            orientation = ImageOrientation.FromPng(encoded);
        }

        return (decodeGray ? Image.Wrap(width, height, 1, decoded) : FromRgba(decoded, width, height, channels), orientation);
    }

    /// <summary>Keeps <paramref name="channels"/> of interleaved RGBA: gray (from red) with or without alpha, or RGB, or all four.</summary>
    private static Image FromRgba(byte[] rgba, int width, int height, int channels)
    {
        if (channels == 4)
        {
            return Image.Wrap(width, height, 4, rgba);
        }

        var image = new Image(width, height, channels);
        var pixels = image.Pixels;
        var count = width * height;
        for (var p = 0; p < count; p++)
        {
            var (from, to) = (p * 4, p * channels);
            switch (channels)
            {
                case 2:
                    (pixels[to], pixels[to + 1]) = (rgba[from], rgba[from + 3]);
                    break;
                case 3:
                    (pixels[to], pixels[to + 1], pixels[to + 2]) = (rgba[from], rgba[from + 1], rgba[from + 2]);
                    break;
                default:
                    pixels[to] = rgba[from];
                    break;
            }
        }

        return image;
    }

    /// <summary>Writes <paramref name="image"/> (2 to 4 channels) as interleaved RGBA; without alpha, opaque.</summary>
    private static void ToRgba(Image image, Span<byte> rgba)
    {
        var source = image.Pixels;
        var stride = image.Channels;
        var count = image.Width * image.Height;
        for (var p = 0; p < count; p++)
        {
            var (from, to) = (p * stride, p * 4);
            var colored = stride >= 3;
            rgba[to] = source[from];
            rgba[to + 1] = source[from + (colored ? 1 : 0)];
            rgba[to + 2] = source[from + (colored ? 2 : 0)];
            rgba[to + 3] = image.HasAlpha ? source[from + stride - 1] : (byte)255;
        }
    }

    /// <summary>
    /// Converts between gray, gray + alpha, RGB and RGBA: gray is repeated into RGB, RGB becomes gray by the luma weights
    /// 0.299, 0.587, 0.114, added alpha is opaque, and removed alpha composites the colors onto black.
    /// </summary>
    private static Image ConvertChannels(Image image, int channels)
    {
        var result = new Image(image.Width, image.Height, channels);
        var source = image.Pixels;
        var target = result.Pixels;
        var (stride, colored, alpha) = (image.Channels, image.Channels >= 3, image.HasAlpha);
        var keepAlpha = channels is 2 or 4;
        var count = image.Width * image.Height;
        for (var p = 0; p < count; p++)
        {
            var (from, to) = (p * stride, p * channels);
            int r = source[from], g = colored ? source[from + 1] : r, b = colored ? source[from + 2] : r;
            int a = alpha ? source[from + stride - 1] : 255;
            if (alpha && !keepAlpha)
            {
                (r, g, b) = (Composite(r, a), Composite(g, a), Composite(b, a));
            }

            if (channels <= 2)
            {
                target[to] = colored ? (byte)(((299 * r) + (587 * g) + (114 * b) + 500) / 1000) : (byte)r;
            }
            else
            {
                (target[to], target[to + 1], target[to + 2]) = ((byte)r, (byte)g, (byte)b);
            }

            if (keepAlpha)
            {
                target[to + channels - 1] = (byte)a;
            }
        }

        return result;
    }

    /// <summary>v · a / 255, rounded: the color over black.</summary>
    private static int Composite(int value, int alpha) => ((value * alpha) + 127) / 255;

    private static void CheckChannels(int channels)
    {
        if (channels is < 0 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels,
                "Channels must be 0 (as stored), 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).");
        }
    }

    private static InvalidDataException Undecodable(string kind, string source, SKCodecResult result) =>
        new($"{kind} file '{source}' cannot be decoded: {result switch
        {
            SKCodecResult.IncompleteInput => "it is truncated: its data ends before its last pixel",
            SKCodecResult.ErrorInInput => "its data is corrupt",
            SKCodecResult.InvalidInput => "it is corrupt or not a valid file",
            SKCodecResult.Unimplemented => "it uses a feature the decoder does not support",
            _ => "the decoder failed",
        }} (SkiaSharp: {result}).");
}
