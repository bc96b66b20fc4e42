using MLNet.Diffusion.IO;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Data;

/// <summary>
/// Reads and writes PNG files through libpng's simplified API (libpng 1.6.29 or newer, <c>libpng16.so.16</c>).
/// </summary>
/// <remarks>
/// <para>
/// Decoding gives 8-bit <see cref="Image"/>s whatever the file holds: palette images are expanded, 16-bit
/// channels are reduced to 8-bit sRGB, and gray, gray + alpha, RGB or RGBA is converted to the channel count
/// asked for. Removing an alpha channel composites the image onto black. A 16-bit file without gamma
/// information (no gAMA or sRGB chunk) is taken to be sRGB-encoded, as image viewers and most tools take it,
/// so that a sample v becomes about v / 257; libpng's own default would take it as linear light.
/// </para>
/// <para>
/// A corrupt, truncated, missing or non-PNG file raises one <see cref="InvalidDataException"/> naming the file
/// and carrying libpng's message. A missing libpng raises a <see cref="DllNotFoundException"/> that says what to install.
/// </para>
/// </remarks>
public static class PngCodec
{
    /// <summary>Decodes the PNG file at <paramref name="path"/>.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="channels">
    /// The channel count of the result: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA, or 0 (the default) for the file's own
    /// (a palette file counts as RGB, or RGBA when it has transparency).
    /// </param>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, corrupt, truncated or not a PNG.</exception>
    public static Image Load(string path, int channels = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckChannels(channels);
        LibPng.EnsureLoaded();
        using var png = new PngImageHandle();
        if (LibPng.BeginReadFromFile(png, path) == 0)
        {
            throw Unreadable(path, png);
        }

        return FinishRead(png, channels, path);
    }

    /// <summary>Decodes PNG bytes; <paramref name="source"/> names them in error messages.</summary>
    /// <param name="png">The encoded bytes.</param>
    /// <param name="channels">The channel count of the result, as for <see cref="Load(string, int)"/>; 0 keeps the file's.</param>
    /// <param name="source">What the bytes are, for error messages.</param>
    /// <exception cref="InvalidDataException">The bytes are corrupt, truncated or not a PNG.</exception>
    public static Image Decode(ReadOnlySpan<byte> png, int channels = 0, string source = "(memory)")
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckChannels(channels);
        LibPng.EnsureLoaded();
        if (png.IsEmpty)
        {
            throw new InvalidDataException($"PNG data '{source}' cannot be decoded: it is empty.");
        }

        // libpng keeps reading from this memory until the read finishes: a copy on the pinned heap stays put.
        var data = GC.AllocateUninitializedArray<byte>(png.Length, pinned: true);
        png.CopyTo(data);
        try
        {
            using var image = new PngImageHandle();
            if (LibPng.BeginReadFromMemory(image, Marshal.UnsafeAddrOfPinnedArrayElement(data, 0), (nuint)data.Length) == 0)
            {
                throw Unreadable(source, image);
            }

            return FinishRead(image, channels, source);
        }
        finally
        {
            GC.KeepAlive(data);
        }
    }

    /// <summary>
    /// Encodes <paramref name="image"/> as an 8-bit PNG file at <paramref name="path"/>. The bytes go to a temporary file
    /// in the same folder, which then replaces <paramref name="path"/>: an existing file is never left half-written.
    /// </summary>
    /// <exception cref="IOException">The file cannot be written (the message names it and says why), or libpng failed.</exception>
    public static void Save(Image image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Encode(image);
        try
        {
            AtomicFile.Write(path, bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"PNG file '{path}' cannot be written: {ex.Message}", ex);
        }
    }

    /// <summary>Encodes <paramref name="image"/> as the bytes of an 8-bit PNG file (gray, gray + alpha, RGB or RGBA, as it has).</summary>
    /// <exception cref="IOException">libpng failed to encode the image.</exception>
    public static byte[] Encode(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        LibPng.EnsureLoaded();
        var capacity = MaximumEncodedSize(image);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var buffer = new byte[capacity];
            var size = (nuint)capacity;
            using var png = Describe(image);
            if (LibPng.WriteToMemory(png, ref MemoryMarshal.GetArrayDataReference(buffer), ref size, 0,
                in MemoryMarshal.GetReference(image.Pixels), image.RowBytes, IntPtr.Zero) != 0)
            {
                Array.Resize(ref buffer, checked((int)size));
                return buffer;
            }

            // On failure a larger size means only that the buffer was too small; it is the size needed.
            if (size <= (nuint)capacity || size > (nuint)Array.MaxLength)
            {
                throw new IOException($"libpng could not encode the {image}: {Reason(png)}.");
            }

            capacity = (int)size;
        }

        throw new IOException($"libpng could not encode the {image}: the encoded size kept growing.");
    }

    private static Image FinishRead(PngImageHandle png, int channels, string source)
    {
        var (width, height, stored) = (png.Width, png.Height, png.Format);
        var count = channels != 0 ? channels : ChannelCount(stored);
        var length = (long)width * height * count;
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue || length > Array.MaxLength)
        {
            throw new InvalidDataException($"PNG file '{source}' cannot be decoded: its {width}×{height} pixels do not fit in one array.");
        }

        // Zeroed, so that an alpha channel being removed composites onto black.
        var pixels = new byte[length];
        png.Format = FormatCode(count);
        png.Flags |= LibPng.ImageFlag16BitSrgb;
        if (LibPng.FinishRead(png, IntPtr.Zero, ref MemoryMarshal.GetArrayDataReference(pixels), (int)width * count, IntPtr.Zero) == 0)
        {
            throw Unreadable(source, png);
        }

        return Image.Wrap((int)width, (int)height, count, pixels);
    }

    private static PngImageHandle Describe(Image image)
    {
        var png = new PngImageHandle
        {
            Width = (uint)image.Width,
            Height = (uint)image.Height,
            Format = FormatCode(image.Channels),
        };
        return png;
    }

    /// <summary>png.h's PNG_IMAGE_PNG_SIZE_MAX for an 8-bit image without a color map: zlib's bound on the filtered rows plus chunk overheads.</summary>
    private static int MaximumEncodedSize(Image image)
    {
        var data = ((long)image.RowBytes * image.Height) + image.Height; // one filter byte per row
        var compressed = data + ((data + 7) >> 3) + ((data + 63) >> 6) + 11;
        var total = 8 + 25 + 16 + 44 + 12 + 12 + (12 * (compressed / 8192)) + compressed;
        return (int)Math.Min(total, Array.MaxLength);
    }

    /// <summary>The channel count of a PNG_FORMAT_* code: gray or RGB, plus alpha.</summary>
    private static int ChannelCount(uint format) =>
        ((format & LibPng.FormatFlagColor) != 0 ? 3 : 1) + ((format & LibPng.FormatFlagAlpha) != 0 ? 1 : 0);

    /// <summary>The 8-bit PNG_FORMAT_* code: GRAY 0, GA 1, RGB 2, RGBA 3.</summary>
    private static uint FormatCode(int channels) => channels switch
    {
        1 => 0,
        2 => LibPng.FormatFlagAlpha,
        3 => LibPng.FormatFlagColor,
        _ => LibPng.FormatFlagColor | LibPng.FormatFlagAlpha,
    };

    private static void CheckChannels(int channels)
    {
        if (channels is < 0 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels,
                "Channels must be 0 (as stored), 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).");
        }
    }

    private static InvalidDataException Unreadable(string source, PngImageHandle png) =>
        new($"PNG file '{source}' cannot be decoded: {Reason(png)}.");

    private static string Reason(PngImageHandle png) => png.Message is { Length: > 0 } message ? message : "libpng gave no reason";
}
