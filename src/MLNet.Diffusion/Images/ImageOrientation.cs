using System.Buffers.Binary;

namespace MLNet.Diffusion.Images;

/// <summary>
/// EXIF orientation (TIFF tag 0x0112, values 1–8): how a camera stored an image relative to how it is to be shown.
/// <see cref="ImageCodec"/> applies it on decoding, as PIL's <c>ImageOps.exif_transpose</c> and image viewers do.
/// </summary>
internal static class ImageOrientation
{
    private const ushort OrientationTag = 0x0112;

    /// <summary>The orientation in a PNG's eXIf chunk, or 1 (as stored) when there is none or it is malformed.</summary>
    public static int FromPng(ReadOnlySpan<byte> png)
    {
        // Chunks follow the 8-byte signature: length (4, big-endian), type (4), data, CRC (4). eXIf may come after IDAT.
        var offset = 8L;
        while (offset + 8 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[(int)offset..]);
            var type = png.Slice((int)offset + 4, 4);
            var end = offset + 8 + length;
            if (end > png.Length || type.SequenceEqual("IEND"u8))
            {
                break;
            }

            if (type.SequenceEqual("eXIf"u8))
            {
                return FromExif(png[(int)(offset + 8)..(int)end]);
            }

            offset = end + 4;
        }

        return 1;
    }

    /// <summary>The orientation in EXIF data (a TIFF header and its first IFD, optionally after "Exif\0\0"), or 1.</summary>
    public static int FromExif(ReadOnlySpan<byte> exif)
    {
        if (exif.StartsWith("Exif\0\0"u8))
        {
            exif = exif[6..];
        }

        if (exif.Length < 8 || !(exif.StartsWith("II*\0"u8) || exif.StartsWith("MM\0*"u8)))
        {
            return 1;
        }

        var little = exif[0] == (byte)'I';
        var ifd = ReadUInt32(exif[4..], little);
        if (ifd > (uint)exif.Length - 2)
        {
            return 1;
        }

        var count = ReadUInt16(exif[(int)ifd..], little);
        for (var i = 0; i < count; i++)
        {
            var entry = (long)ifd + 2 + (12 * i);
            if (entry + 12 > exif.Length)
            {
                break;
            }

            // An entry: tag (2), type (2, 3 = SHORT), count (4), value (4; a single SHORT sits in its first two bytes).
            var field = exif.Slice((int)entry, 12);
            if (ReadUInt16(field, little) == OrientationTag && ReadUInt16(field[2..], little) == 3)
            {
                var value = ReadUInt16(field[8..], little);
                return value is >= 1 and <= 8 ? value : 1;
            }
        }

        return 1;
    }

    /// <summary>
    /// The image as it is to be shown: 2 mirrors it left to right, 3 turns it 180°, 4 mirrors it top to bottom,
    /// 5 transposes it, 6 turns it 90° clockwise, 7 transverses it, 8 turns it 90° counterclockwise; 1 (or anything
    /// else) leaves it. 5 to 8 swap the width and the height.
    /// </summary>
    public static Image Apply(Image image, int orientation)
    {
        if (orientation is < 2 or > 8)
        {
            return image;
        }

        var (width, height, channels) = (image.Width, image.Height, image.Channels);
        var swap = orientation >= 5;
        var result = new Image(swap ? height : width, swap ? width : height, channels);
        var source = image.Pixels;
        var target = result.Pixels;
        var at = 0;
        for (var y = 0; y < result.Height; y++)
        {
            for (var x = 0; x < result.Width; x++)
            {
                // The stored pixel shown at (x, y).
                var (sx, sy) = orientation switch
                {
                    2 => (width - 1 - x, y),
                    3 => (width - 1 - x, height - 1 - y),
                    4 => (x, height - 1 - y),
                    5 => (y, x),
                    6 => (y, height - 1 - x),
                    7 => (width - 1 - y, height - 1 - x),
                    _ => (width - 1 - y, x),
                };
                source.Slice(((sy * width) + sx) * channels, channels).CopyTo(target[at..]);
                at += channels;
            }
        }

        return result;
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> bytes, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes);

    private static uint ReadUInt32(ReadOnlySpan<byte> bytes, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
}
