using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MLNet.Diffusion.Tests.Images;

/// <summary>
/// A minimal PNG writer made from the PNG specification alone (signature, IHDR, PLTE, tRNS, any ancillary chunk, IDAT,
/// IEND; CRC-32; zlib via .NET's ZLibStream; row filters None, Sub and Up in turn), independent of SkiaSharp's libpng,
/// so that decoding its files checks <c>ImageCodec</c> against a second implementation on any machine.
/// </summary>
internal static class ReferencePng
{
    /// <summary>PNG color types.</summary>
    public const byte Gray = 0, Rgb = 2, Palette = 3, GrayAlpha = 4, Rgba = 6;

    private static readonly uint[] s_crcTable = BuildCrcTable();

    /// <summary>
    /// A PNG of <paramref name="rows"/>: the raw samples of each row, big-endian when 16-bit, without filter bytes;
    /// <paramref name="chunks"/> (such as gAMA or eXIf) go after tRNS, before IDAT.
    /// </summary>
    public static byte[] Encode(int width, int height, byte colorType, byte bitDepth, byte[] rows, byte[]? palette = null, byte[]? transparency = null,
        (string Type, byte[] Data)[]? chunks = null)
    {
        var samples = colorType switch { Gray or Palette => 1, GrayAlpha => 2, Rgb => 3, _ => 4 };
        var bytesPerPixel = Math.Max(1, samples * bitDepth / 8);
        var rowBytes = ((width * samples * bitDepth) + 7) / 8;
        if (rows.Length != rowBytes * height)
        {
            throw new ArgumentException($"Expected {rowBytes * height} bytes of rows, got {rows.Length}.", nameof(rows));
        }

        var filtered = new byte[(rowBytes + 1) * height];
        for (var y = 0; y < height; y++)
        {
            var filter = (byte)(y % 3); // None, Sub, Up in turn
            var row = rows.AsSpan(y * rowBytes, rowBytes);
            var output = filtered.AsSpan((y * (rowBytes + 1)) + 1, rowBytes);
            filtered[y * (rowBytes + 1)] = filter;
            for (var i = 0; i < rowBytes; i++)
            {
                var predictor = filter switch
                {
                    1 => i >= bytesPerPixel ? row[i - bytesPerPixel] : 0,
                    2 => y > 0 ? rows[((y - 1) * rowBytes) + i] : 0,
                    _ => 0,
                };
                output[i] = (byte)(row[i] - predictor);
            }
        }

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colorType; // compression, filter method and interlace stay 0
        WriteChunk(png, "IHDR", header);
        if (palette is not null)
        {
            WriteChunk(png, "PLTE", palette);
        }

        if (transparency is not null)
        {
            WriteChunk(png, "tRNS", transparency);
        }

        foreach (var (type, data) in chunks ?? [])
        {
            WriteChunk(png, type, data);
        }

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                zlib.Write(filtered);
            }

            WriteChunk(png, "IDAT", compressed.ToArray());
        }

        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        stream.Write(chunk);
    }

    /// <summary>CRC-32 (polynomial 0xEDB88320, reflected), over the chunk type and data, as the specification defines it.</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
