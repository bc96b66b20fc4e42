using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNet.Diffusion.Tests.Datasets;

/// <summary>Builds IDX files byte by byte, from the format's description (big-endian header, then the data).</summary>
internal static class IdxBytes
{
    public static byte[] Header(byte typeCode, params int[] sizes)
    {
        var header = new byte[4 + (4 * sizes.Length)];
        header[2] = typeCode;
        header[3] = (byte)sizes.Length;
        for (var i = 0; i < sizes.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + (4 * i)), sizes[i]);
        }

        return header;
    }

    public static byte[] UnsignedBytes(byte[] data, params int[] sizes) => [.. Header(0x08, sizes), .. data];

    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }
}
