using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Data;

/// <summary>
/// libpng's simplified API (png.h, libpng 1.6: <c>png_image</c> and the <c>png_image_*</c> functions), through which
/// <see cref="PngCodec"/> reads and writes PNG files. Constants are png.h's.
/// </summary>
internal static partial class LibPng
{
    /// <summary>The soname of libpng 1.6 (Debian's libpng16-16).</summary>
    internal const string Library = "libpng16.so.16";

    /// <summary>PNG_IMAGE_VERSION: the <c>png_image</c> layout these declarations describe.</summary>
    internal const uint ImageVersion = 1;

    /// <summary>PNG_FORMAT_FLAG_ALPHA: the format has an alpha channel.</summary>
    internal const uint FormatFlagAlpha = 0x01;

    /// <summary>PNG_FORMAT_FLAG_COLOR: the format is RGB, otherwise gray.</summary>
    internal const uint FormatFlagColor = 0x02;

    /// <summary>PNG_FORMAT_FLAG_LINEAR: 16-bit linear channels, otherwise 8-bit sRGB.</summary>
    internal const uint FormatFlagLinear = 0x04;

    /// <summary>PNG_FORMAT_FLAG_COLORMAP: the data are color-map indices.</summary>
    internal const uint FormatFlagColormap = 0x08;

    /// <summary>
    /// PNG_IMAGE_FLAG_16BIT_sRGB: on read, 16-bit samples of a file without gAMA or sRGB chunks are sRGB-encoded
    /// (libpng would otherwise take them as linear).
    /// </summary>
    internal const uint ImageFlag16BitSrgb = 0x04;

    /// <summary>The newest export this binding uses: <c>png_image_write_to_memory</c> came in libpng 1.6.29.</summary>
    internal const string NewestExport = "png_image_write_to_memory";

    private static readonly Lazy<string?> s_loadError = new(Probe);

    /// <summary>Throws a <see cref="DllNotFoundException"/> that says how to install libpng when it cannot be loaded.</summary>
    internal static void EnsureLoaded()
    {
        if (s_loadError.Value is { } error)
        {
            throw new DllNotFoundException(error);
        }
    }

    /// <summary>png_image_begin_read_from_file: opens the file and reads the PNG header into the image.</summary>
    [LibraryImport(Library, EntryPoint = "png_image_begin_read_from_file", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int BeginReadFromFile(PngImageHandle image, string fileName);

    /// <summary>png_image_begin_read_from_memory: reads the header; the memory must stay put until the read finishes.</summary>
    [LibraryImport(Library, EntryPoint = "png_image_begin_read_from_memory")]
    internal static partial int BeginReadFromMemory(PngImageHandle image, IntPtr memory, nuint size);

    /// <summary>png_image_finish_read: decodes into <paramref name="buffer"/> in the image's format; frees libpng's state.</summary>
    [LibraryImport(Library, EntryPoint = "png_image_finish_read")]
    internal static partial int FinishRead(PngImageHandle image, IntPtr background, ref byte buffer, int rowStride, IntPtr colormap);

    /// <summary>png_image_free: frees libpng's state (the <c>opaque</c> pointer), if any.</summary>
    [LibraryImport(Library, EntryPoint = "png_image_free")]
    internal static partial void Free(IntPtr image);

    /// <summary>png_image_write_to_memory: encodes into <paramref name="memory"/>, <paramref name="memoryBytes"/> long; updates it to the size written.</summary>
    [LibraryImport(Library, EntryPoint = "png_image_write_to_memory")]
    internal static partial int WriteToMemory(
        PngImageHandle image, ref byte memory, ref nuint memoryBytes, int convertTo8Bit, in byte buffer, int rowStride, IntPtr colormap);

    private static string? Probe()
    {
        if (!NativeLibrary.TryLoad(Library, typeof(LibPng).Assembly, null, out var library))
        {
            return $"libpng ('{Library}') could not be loaded; MLNet.Diffusion reads and writes PNG files through it. " +
                "On Debian install libpng16-16 (or libpng-dev, which ./build.sh installs).";
        }

        return NativeLibrary.TryGetExport(library, NewestExport, out _)
            ? null
            : $"The libpng loaded as '{Library}' has no '{NewestExport}': it is older than 1.6.29. Install a newer libpng16-16.";
    }
}
