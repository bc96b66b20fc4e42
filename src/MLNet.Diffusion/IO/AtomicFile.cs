namespace MLNet.Diffusion.IO;

/// <summary>
/// Writes files so that a reader never sees half of one: the content goes to a temporary file in the same folder,
/// is flushed to disk, and only then replaces the target. Shared by every writer of the project (weights, checkpoints,
/// model zips, images, reports).
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; on any failure the target is untouched.</summary>
    internal static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            FileStream created;
            try
            {
                created = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The temporary file is ours, not the caller's: the error names the path that was asked for.
                throw Named(path, temporary, ex);
            }

            using (var stream = created)
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temporary, full, overwrite: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw Named(path, temporary, ex);
            }
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The original error is the one to report.
            }

            throw;
        }
    }

    private static Exception Named(string path, string temporary, Exception ex)
    {
        var reason = ex is DirectoryNotFoundException
            ? $"its folder '{Path.GetDirectoryName(temporary)}' does not exist"
            : ex.Message.Replace(temporary, path, StringComparison.Ordinal);
        var message = $"Cannot write '{path}': {reason}";
        return ex switch
        {
            UnauthorizedAccessException => new UnauthorizedAccessException(message, ex),
            DirectoryNotFoundException => new DirectoryNotFoundException(message, ex),
            _ => new IOException(message, ex),
        };
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>.</summary>
    internal static void Write(string path, byte[] bytes) => Write(path, stream => stream.Write(bytes));
}
