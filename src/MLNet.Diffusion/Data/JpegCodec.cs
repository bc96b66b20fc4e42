using MLNet.Diffusion.IO;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Data;

/// <summary>
/// Reads and writes JPEG files through libjpeg-turbo's TurboJPEG API (<c>libturbojpeg.so.0</c>).
/// </summary>
/// <remarks>
/// <para>
/// Decoding gives 8-bit gray or RGB <see cref="Image"/>s. Encoding takes gray or RGB images; color is stored without
/// chroma subsampling (4:4:4), so that small training images keep their color edges.
/// </para>
/// <para>
/// A corrupt, truncated, missing or non-JPEG file raises one <see cref="InvalidDataException"/> naming the file and
/// carrying TurboJPEG's message. A missing TurboJPEG raises a <see cref="DllNotFoundException"/> that says what to install.
/// </para>
/// </remarks>
public static class JpegCodec
{
    /// <summary>Decodes the JPEG file at <paramref name="path"/>.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="channels">1 gray, 3 RGB, or 0 (the default) for the file's own: a grayscale JPEG gives 1 channel, any other 3.</param>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, corrupt, truncated or not a JPEG.</exception>
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
            throw new InvalidDataException($"JPEG file '{path}' cannot be decoded: {ex.Message}", ex);
        }

        return Decode(bytes, channels, path);
    }

    /// <summary>Decodes JPEG bytes; <paramref name="source"/> names them in error messages.</summary>
    /// <param name="jpeg">The encoded bytes.</param>
    /// <param name="channels">1 gray, 3 RGB, or 0 (the default) for the file's own, as for <see cref="Load(string, int)"/>.</param>
    /// <param name="source">What the bytes are, for error messages.</param>
    /// <exception cref="InvalidDataException">The bytes are corrupt, truncated or not a JPEG.</exception>
    public static Image Decode(ReadOnlySpan<byte> jpeg, int channels = 0, string source = "(memory)")
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckChannels(channels);
        TurboJpeg.EnsureLoaded();
        if (jpeg.IsEmpty)
        {
            throw new InvalidDataException($"JPEG file '{source}' cannot be decoded: it is empty.");
        }

        using var decoder = TurboJpeg.InitDecompress();
        if (decoder.IsInvalid)
        {
            throw new InvalidOperationException("TurboJPEG could not create a decompressor.");
        }

        ref readonly var first = ref MemoryMarshal.GetReference(jpeg);
        var size = (nuint)jpeg.Length;
        if (TurboJpeg.DecompressHeader(decoder, in first, size, out var width, out var height, out _, out var colorSpace) != 0)
        {
            throw Unreadable(source, decoder);
        }

        var count = channels != 0 ? channels : colorSpace == TurboJpeg.ColorSpaceGray ? 1 : 3;
        var length = (long)width * height * count;
        if (width <= 0 || height <= 0 || length > Array.MaxLength)
        {
            throw new InvalidDataException($"JPEG file '{source}' cannot be decoded: its {width}×{height} pixels do not fit in one array.");
        }

        var pixels = new byte[length];
        var format = count == 1 ? TurboJpeg.PixelFormatGray : TurboJpeg.PixelFormatRgb;

        // Any warning (a truncated file decodes with one, its missing rows gray) counts as a failure: training data must be whole.
        if (TurboJpeg.Decompress(decoder, in first, size, ref MemoryMarshal.GetArrayDataReference(pixels), width, width * count, height,
                format, TurboJpeg.FlagAccurateDct) != 0)
        {
            throw Unreadable(source, decoder);
        }

        return Image.Wrap(width, height, count, pixels);
    }

    /// <summary>
    /// Encodes <paramref name="image"/> as a JPEG file at <paramref name="path"/>. The bytes go to a temporary file in the
    /// same folder, which then replaces <paramref name="path"/>: an existing file is never left half-written.
    /// </summary>
    /// <param name="image">A gray or RGB image.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="quality">The JPEG quality, 1 (smallest) to 100 (best); 95 by default.</param>
    /// <exception cref="ArgumentException">The image has an alpha channel.</exception>
    /// <exception cref="IOException">The file cannot be written (the message names it and says why), or TurboJPEG failed.</exception>
    public static void Save(Image image, string path, int quality = 95)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Encode(image, quality);
        try
        {
            AtomicFile.Write(path, bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"JPEG file '{path}' cannot be written: {ex.Message}", ex);
        }
    }

    /// <summary>Encodes <paramref name="image"/> (gray or RGB) as the bytes of a JPEG file.</summary>
    /// <param name="image">A gray or RGB image.</param>
    /// <param name="quality">The JPEG quality, 1 (smallest) to 100 (best); 95 by default.</param>
    /// <exception cref="ArgumentException">The image has an alpha channel, which JPEG cannot store.</exception>
    /// <exception cref="IOException">TurboJPEG failed to encode the image.</exception>
    public static byte[] Encode(Image image, int quality = 95)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        if (image.HasAlpha)
        {
            throw new ArgumentException(
                $"JPEG cannot store an alpha channel; the {image} has one. Convert it to gray (1 channel) or RGB (3 channels) first, or save it as PNG.",
                nameof(image));
        }

        TurboJpeg.EnsureLoaded();
        using var encoder = TurboJpeg.InitCompress();
        if (encoder.IsInvalid)
        {
            throw new InvalidOperationException("TurboJPEG could not create a compressor.");
        }

        var gray = image.Channels == 1;
        var buffer = IntPtr.Zero;
        nuint size = 0;
        try
        {
            if (TurboJpeg.Compress(encoder, in MemoryMarshal.GetReference(image.Pixels), image.Width, image.RowBytes, image.Height,
                    gray ? TurboJpeg.PixelFormatGray : TurboJpeg.PixelFormatRgb, ref buffer, ref size,
                    gray ? TurboJpeg.SubsamplingGray : TurboJpeg.Subsampling444, quality, TurboJpeg.FlagAccurateDct) != 0)
            {
                throw new IOException($"TurboJPEG could not encode the {image}: {TurboJpeg.Reason(encoder)}.");
            }

            var bytes = new byte[checked((int)size)];
            Marshal.Copy(buffer, bytes, 0, bytes.Length);
            return bytes;
        }
        finally
        {
            if (buffer != IntPtr.Zero)
            {
                TurboJpeg.Free(buffer);
            }
        }
    }

    private static void CheckChannels(int channels)
    {
        if (channels is not (0 or 1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 0 (as stored), 1 (gray) or 3 (RGB) for JPEG.");
        }
    }

    private static InvalidDataException Unreadable(string source, TurboJpegHandle handle) =>
        new($"JPEG file '{source}' cannot be decoded: {TurboJpeg.Reason(handle)}.");
}
