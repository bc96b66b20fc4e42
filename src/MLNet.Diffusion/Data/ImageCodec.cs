namespace MLNet.Diffusion.Data;

/// <summary>Reads PNG or JPEG files, telling them apart by their first bytes rather than by their names.</summary>
public static class ImageCodec
{
    /// <summary>
    /// Decodes the PNG (starting 89 50 4E 47) or JPEG (starting FF D8 FF) file at <paramref name="path"/> with
    /// <see cref="PngCodec"/> or <see cref="JpegCodec"/>.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="channels">The channel count of the result, or 0 (the default) for the file's own; JPEG gives only 1 or 3.</param>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, corrupt, or neither PNG nor JPEG.</exception>
    public static Image Load(string path, int channels = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Image file '{path}' cannot be read: {ex.Message}", ex);
        }

        if (bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47]))
        {
            return PngCodec.Decode(bytes, channels, path);
        }

        if (bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return JpegCodec.Decode(bytes, channels, path);
        }

        throw new InvalidDataException($"Image file '{path}' is neither PNG nor JPEG: it does not start with a PNG or JPEG signature.");
    }
}
