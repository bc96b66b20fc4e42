namespace MLNet.Diffusion.IO;

/// <summary>
/// Makes sure an output can be written before the work that produces it starts: the folder is created when missing (with
/// its parents), and a file is created in it and removed. Every error names the path as the caller gave it, never a
/// temporary file. Shared by the trainer (checkpoints, the report) and the command line (every output of every command).
/// </summary>
public static class OutputFolder
{
    /// <summary>Prepares the folder that will hold the file <paramref name="file"/>; errors name <paramref name="file"/> as given.</summary>
    /// <exception cref="IOException">The path is a folder, or its folder cannot be created or written.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission to create or write the folder is denied.</exception>
    public static void PrepareFor(string file)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        if (Directory.Exists(file))
        {
            throw new IOException($"Cannot write '{file}': it is a folder; give a file name.");
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        Prepare(folder, file);
    }

    /// <summary>Prepares the folder <paramref name="folder"/> to receive files; errors name it as given.</summary>
    /// <exception cref="IOException">The path is a file, or the folder cannot be created or written.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission to create or write the folder is denied.</exception>
    public static void Prepare(string folder) => Prepare(Path.GetFullPath(folder), folder);

    private static void Prepare(string fullFolder, string given)
    {
        // Parts of the path are shown the way the path was given: relative to the working directory when it was.
        string Shown(string part) => Path.IsPathRooted(given) ? part : Path.GetRelativePath(Directory.GetCurrentDirectory(), part);

        // The nearest part of the path that exists: a file there means the folder can never be made.
        for (var part = fullFolder; !string.IsNullOrEmpty(part); part = Path.GetDirectoryName(part))
        {
            if (Directory.Exists(part))
            {
                break;
            }

            if (File.Exists(part))
            {
                throw new IOException($"Cannot write '{given}': '{Shown(part)}' is a file, not a folder.");
            }
        }

        try
        {
            Directory.CreateDirectory(fullFolder);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"Cannot write '{given}': permission to create the folder '{Shown(fullFolder)}' is denied.", ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"Cannot write '{given}': the folder '{Shown(fullFolder)}' cannot be created ({ex.Message}).", ex);
        }

        var probe = Path.Combine(fullFolder, $".mlnet-diffusion-probe-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"Cannot write '{given}': the folder '{Shown(fullFolder)}' is not writable (permission denied).", ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"Cannot write '{given}': the folder '{Shown(fullFolder)}' is not writable ({ex.Message.Replace(probe, Shown(fullFolder), StringComparison.Ordinal)}).", ex);
        }
    }
}
