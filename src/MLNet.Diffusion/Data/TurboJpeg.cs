using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Data;

/// <summary>
/// libjpeg-turbo's TurboJPEG API (turbojpeg.h, <c>libturbojpeg.so.0</c>), through which <see cref="JpegCodec"/> reads
/// and writes JPEG files. Constants are turbojpeg.h's; <c>unsigned long</c> is 64-bit on Linux x86-64, hence <see cref="nuint"/>.
/// </summary>
internal static partial class TurboJpeg
{
    /// <summary>The soname of TurboJPEG (Debian's libturbojpeg0).</summary>
    internal const string Library = "libturbojpeg.so.0";

    /// <summary>TJPF_RGB: 3 bytes per pixel, red, green, blue.</summary>
    internal const int PixelFormatRgb = 0;

    /// <summary>TJPF_GRAY: 1 byte per pixel.</summary>
    internal const int PixelFormatGray = 6;

    /// <summary>TJSAMP_444: no chroma subsampling.</summary>
    internal const int Subsampling444 = 0;

    /// <summary>TJSAMP_GRAY: a grayscale JPEG (luminance only).</summary>
    internal const int SubsamplingGray = 3;

    /// <summary>TJCS_GRAY: the JPEG's color space is grayscale.</summary>
    internal const int ColorSpaceGray = 2;

    /// <summary>TJFLAG_ACCURATEDCT: the accurate integer DCT rather than the fast one.</summary>
    internal const int FlagAccurateDct = 4096;

    private static readonly Lazy<string?> s_loadError = new(Probe);

    /// <summary>Throws a <see cref="DllNotFoundException"/> that says how to install TurboJPEG when it cannot be loaded.</summary>
    internal static void EnsureLoaded()
    {
        if (s_loadError.Value is { } error)
        {
            throw new DllNotFoundException(error);
        }
    }

    /// <summary>tjInitDecompress: a decompressor instance, or null on failure.</summary>
    [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
    internal static partial TurboJpegHandle InitDecompress();

    /// <summary>tjInitCompress: a compressor instance, or null on failure.</summary>
    [LibraryImport(Library, EntryPoint = "tjInitCompress")]
    internal static partial TurboJpegHandle InitCompress();

    /// <summary>tjDecompressHeader3: the size, subsampling and color space of a JPEG image.</summary>
    [LibraryImport(Library, EntryPoint = "tjDecompressHeader3")]
    internal static partial int DecompressHeader(
        TurboJpegHandle handle, in byte jpeg, nuint jpegSize, out int width, out int height, out int subsampling, out int colorSpace);

    /// <summary>tjDecompress2: decodes into <paramref name="destination"/> in <paramref name="pixelFormat"/>.</summary>
    [LibraryImport(Library, EntryPoint = "tjDecompress2")]
    internal static partial int Decompress(
        TurboJpegHandle handle, in byte jpeg, nuint jpegSize, ref byte destination, int width, int pitch, int height, int pixelFormat, int flags);

    /// <summary>tjCompress2: encodes into a buffer TurboJPEG allocates (free it with <see cref="Free"/>).</summary>
    [LibraryImport(Library, EntryPoint = "tjCompress2")]
    internal static partial int Compress(
        TurboJpegHandle handle, in byte source, int width, int pitch, int height, int pixelFormat,
        ref IntPtr jpeg, ref nuint jpegSize, int subsampling, int quality, int flags);

    /// <summary>tjFree: frees a buffer TurboJPEG allocated.</summary>
    [LibraryImport(Library, EntryPoint = "tjFree")]
    internal static partial void Free(IntPtr buffer);

    /// <summary>tjDestroy: frees an instance.</summary>
    [LibraryImport(Library, EntryPoint = "tjDestroy")]
    internal static partial int Destroy(IntPtr handle);

    /// <summary>tjGetErrorStr2: the last error of an instance (TurboJPEG owns the string).</summary>
    [LibraryImport(Library, EntryPoint = "tjGetErrorStr2")]
    internal static partial IntPtr GetErrorString(TurboJpegHandle handle);

    /// <summary>The last error of <paramref name="handle"/>, as text.</summary>
    internal static string Reason(TurboJpegHandle handle) =>
        Marshal.PtrToStringUTF8(GetErrorString(handle)) is { Length: > 0 } message ? message : "TurboJPEG gave no reason";

    private static string? Probe() =>
        NativeLibrary.TryLoad(Library, typeof(TurboJpeg).Assembly, null, out _)
            ? null
            : $"libjpeg-turbo's TurboJPEG ('{Library}') could not be loaded; MLNet.Diffusion reads and writes JPEG files through it. " +
                "On Debian install libturbojpeg0 (or libturbojpeg0-dev, which ./build.sh installs).";
}
