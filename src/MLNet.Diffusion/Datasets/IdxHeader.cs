using System.Buffers.Binary;
using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Datasets;

/// <summary>
/// The header of an IDX file (see <see cref="IdxFile"/> for the format) and the one parser of it, for readers that load a
/// whole file (<see cref="IdxFile"/>) and for readers that read rows by position. Every fault raises one
/// <see cref="InvalidDataException"/> from <see cref="Invalid"/>, naming the file and the reason.
/// </summary>
internal sealed class IdxHeader
{
    private const string Truncated = " (a truncated file?)";
    private const byte UnsignedByteCode = 0x08;

    private readonly int[] _dimensions;

    private IdxHeader(ScalarType elementType, int[] dimensions, long dataLength)
    {
        ElementType = elementType;
        _dimensions = dimensions;
        DataLength = dataLength;
    }

    /// <summary>The element type.</summary>
    public ScalarType ElementType { get; }

    /// <summary>The size of each dimension, outermost first.</summary>
    public IReadOnlyList<int> Dimensions => _dimensions;

    /// <summary>Where the data starts: the header's length in bytes.</summary>
    public int DataOffset => 4 + (4 * _dimensions.Length);

    /// <summary>The data's length in bytes, as the header declares it.</summary>
    public long DataLength { get; }

    /// <summary>
    /// Parses a header of any IDX element type and 1 to <see cref="IdxFile.MaxDimensions"/> dimensions whose data fits in
    /// one array.
    /// </summary>
    /// <param name="fill">Reads the next bytes of the file into its argument until it is full or the file ends; returns the count read.</param>
    /// <param name="source">The file's name in error messages.</param>
    public static IdxHeader Read(Func<Span<byte>, int> fill, string source) =>
        Read(fill, source, expected: null, Array.MaxLength, $"the {Array.MaxLength}-byte limit of one array");

    /// <summary>
    /// Parses a header of unsigned bytes with <paramref name="rank"/> dimensions, for a reader that reads the data by
    /// position (so it may be larger than one array).
    /// </summary>
    /// <param name="fill">Reads the next bytes of the file into its argument until it is full or the file ends; returns the count read.</param>
    /// <param name="source">The file's name in error messages.</param>
    /// <param name="what">What the file is, for error messages: "an image file".</param>
    /// <param name="shape">The shape it must have, for error messages: "[N, height, width]".</param>
    /// <param name="rank">The number of dimensions it must have.</param>
    public static IdxHeader ReadUnsignedBytes(Func<Span<byte>, int> fill, string source, string what, string shape, int rank) =>
        Read(fill, source, (what, shape, rank), long.MaxValue, "a file can hold");

    /// <summary>
    /// Checks that <paramref name="available"/>, the bytes that follow the header, are exactly the data it declares: fewer
    /// means a truncated file, more means trailing bytes.
    /// </summary>
    public void CheckDataLength(string source, long available)
    {
        var declared = $"[{string.Join(", ", _dimensions)}] {ElementType.Name()}";
        if (available < DataLength)
        {
            throw Invalid(source, $"its header declares {declared}, {DataLength} bytes of data, but only {available} follow{Truncated}");
        }

        if (available > DataLength)
        {
            throw Invalid(source, $"{available - DataLength} trailing bytes follow the {DataLength} bytes of data its header declares ({declared})");
        }
    }

    /// <summary>The error for a malformed IDX file: <c>IDX file '&lt;source&gt;' is invalid: &lt;reason&gt;.</c></summary>
    public static InvalidDataException Invalid(string source, string reason, Exception? inner = null) =>
        new($"IDX file '{source}' is invalid: {reason}.", inner);

    private static IdxHeader Read(Func<Span<byte>, int> fill, string source, (string What, string Shape, int Rank)? expected, long limit, string limitName)
    {
        Span<byte> magic = stackalloc byte[4];
        var read = fill(magic);
        if (read < magic.Length)
        {
            throw Invalid(source, $"it has {read} bytes, fewer than the 4-byte IDX magic number{Truncated}");
        }

        if (magic[0] != 0 || magic[1] != 0)
        {
            throw Invalid(source, $"its magic number starts 0x{magic[0]:X2} 0x{magic[1]:X2}, not 0x00 0x00: it is not an IDX file");
        }

        // A reader that needs one type and rank says which it needs, rather than only that the file is not an IDX file.
        if (expected is var (what, shape, rank))
        {
            if (magic[2] != UnsignedByteCode)
            {
                throw Invalid(source, $"its element type code is 0x{magic[2]:X2}, not 0x{UnsignedByteCode:X2} (unsigned bytes), which {what} must hold");
            }

            if (magic[3] != rank)
            {
                throw Invalid(source, $"it has {magic[3]} dimensions, but {what} has {rank}: {shape}");
            }
        }

        var elementType = magic[2] switch
        {
            UnsignedByteCode => ScalarType.Byte,
            0x09 => ScalarType.Int8,
            0x0B => ScalarType.Int16,
            0x0C => ScalarType.Int32,
            0x0D => ScalarType.Float32,
            0x0E => ScalarType.Float64,
            _ => throw Invalid(source,
                $"its element type code 0x{magic[2]:X2} is not an IDX type " +
                "(0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)"),
        };

        int count = magic[3];
        if (count is < 1 or > IdxFile.MaxDimensions)
        {
            throw Invalid(source, $"it declares {count} dimensions; IDX files here have 1 to {IdxFile.MaxDimensions}");
        }

        Span<byte> sizes = stackalloc byte[4 * count];
        read = fill(sizes);
        if (read < sizes.Length)
        {
            throw Invalid(source, $"its header ends after {4 + read} bytes, before the sizes of its {count} dimensions{Truncated}");
        }

        var dimensions = new int[count];
        long length = elementType.ElementSize();
        for (var i = 0; i < count; i++)
        {
            var size = BinaryPrimitives.ReadUInt32BigEndian(sizes[(4 * i)..]);
            if (size is 0 or > int.MaxValue)
            {
                throw Invalid(source, $"the size of its dimension {i} is {size}; sizes must be 1 to {int.MaxValue}");
            }

            dimensions[i] = (int)size;
            if (length > limit / size)
            {
                // Checked before multiplying, so the product never overflows.
                throw Invalid(source,
                    $"its header declares sizes [{string.Join(", ", sizes.ToArray().Chunk(4).Select(s => BinaryPrimitives.ReadUInt32BigEndian(s)))}], " +
                    $"more data than {limitName}");
            }

            length *= size;
        }

        return new IdxHeader(elementType, dimensions, length);
    }
}
