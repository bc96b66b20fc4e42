namespace MLNet.Diffusion.IO;

/// <summary>
/// Reads a stream whose length a file only claims (a zip entry's header): in chunks, never allocating more than has
/// actually arrived, so a header that claims a terabyte costs nothing before the data runs out.
/// </summary>
internal static class BoundedRead
{
    /// <summary>
    /// All of <paramref name="stream"/>, which must hold exactly <paramref name="claimed"/> bytes; otherwise an
    /// <see cref="InvalidDataException"/> naming <paramref name="what"/>.
    /// </summary>
    public static byte[] Exactly(Stream stream, long claimed, string what)
    {
        if (claimed < 0 || claimed > Array.MaxLength)
        {
            throw new InvalidDataException($"{what} claims {claimed} bytes, more than one array can hold ({Array.MaxLength})");
        }

        using var memory = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, claimed + 1 - memory.Length))) > 0)
        {
            memory.Write(buffer, 0, read);
            if (memory.Length > claimed)
            {
                throw new InvalidDataException($"{what} holds more than the {claimed} bytes it claims");
            }
        }

        if (memory.Length != claimed)
        {
            throw new InvalidDataException($"{what} has {memory.Length} of its {claimed} bytes");
        }

        return memory.ToArray();
    }
}
