using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace MLNet.Diffusion.Datasets;

/// <summary>
/// Decompressed copies of gzip-compressed IDX files, for readers that read rows by position. A compressed file (recognized
/// by its content, as <see cref="IdxFile"/> does) is decompressed once into <c>idx-&lt;hash&gt;</c> under a cache folder,
/// keyed by the compressed file's full path, length and modification time; the copy is written under a temporary name and
/// then renamed, so no process ever sees half a file, and later opens read it without decompressing again.
/// </summary>
internal static class IdxCache
{
    /// <summary>Where decompressed copies of gzip-compressed IDX files are cached: <c>mlnet-diffusion</c> under the temporary folder.</summary>
    public static string DefaultDirectory => Path.Combine(Path.GetTempPath(), "mlnet-diffusion");

    /// <summary>
    /// The file to read <paramref name="path"/>'s IDX bytes from: itself when it is not gzip-compressed, else its
    /// decompressed copy in <paramref name="cacheDirectory"/>, made now unless an earlier open made it.
    /// </summary>
    public static string Decompressed(string path, string cacheDirectory)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file '{path}' was not found.", path);
        }

        Span<byte> magic = stackalloc byte[2];
        FileInfo info;
        try
        {
            using (var handle = File.OpenHandle(path))
            {
                if (RandomAccess.Read(handle, magic, 0) < 2 || magic[0] != 0x1F || magic[1] != 0x8B)
                {
                    return path;
                }
            }

            info = new FileInfo(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IdxHeader.Invalid(path, $"it cannot be read: {ex.Message.TrimEnd('.')}", ex);
        }

        // A changed file (another length or modification time) gets another cache file.
        var key = $"{Path.GetFullPath(path)}\n{info.Length}\n{info.LastWriteTimeUtc.Ticks}";
        var cached = Path.Combine(cacheDirectory, $"idx-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32]}");
        if (File.Exists(cached))
        {
            return cached;
        }

        Directory.CreateDirectory(cacheDirectory);
        var temporary = $"{cached}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        try
        {
            using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16))
            using (var gzip = new GZipStream(input, CompressionMode.Decompress))
            using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                gzip.CopyTo(output);
            }

            try
            {
                File.Move(temporary, cached, overwrite: false);
            }
            catch (IOException) when (File.Exists(cached))
            {
                // Another process finished the same copy first; its file is as good as ours.
            }

            return cached;
        }
        catch (InvalidDataException ex)
        {
            throw IdxHeader.Invalid(path, $"its gzip data is corrupt: {ex.Message.TrimEnd('.')}", ex);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
