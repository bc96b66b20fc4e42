using MLNet.Diffusion.Engine;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Datasets;

/// <summary>
/// An array read from an IDX file, the format of MNIST and Fashion-MNIST: a big-endian header
/// (<c>0x00 0x00</c>, an element type code, the number of dimensions, then one 4-byte size per dimension)
/// followed by the elements in row-major order, big-endian. Files may be gzip-compressed; compression is
/// detected from the content (the gzip magic bytes <c>1F 8B</c>), not from the file name.
/// </summary>
/// <remarks>
/// Element type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
/// Every malformed file raises one <see cref="InvalidDataException"/> naming the file and the reason:
/// a bad magic number, an unknown type code, 0 or more than <see cref="MaxDimensions"/> dimensions,
/// a size that is not positive, fewer data bytes than the header promises (a truncated file), or bytes
/// after the data.
/// </remarks>
public sealed class IdxFile
{
    /// <summary>The most dimensions accepted.</summary>
    public const int MaxDimensions = 8;

    private readonly int[] _dimensions;
    private readonly byte[] _data;

    private IdxFile(ScalarType elementType, int[] dimensions, byte[] data)
    {
        ElementType = elementType;
        _dimensions = dimensions;
        _data = data;
    }

    /// <summary>The element type: <see cref="ScalarType.Byte"/> for MNIST-style images and labels.</summary>
    public ScalarType ElementType { get; }

    /// <summary>The size of each dimension, outermost first (for example 60000, 28, 28).</summary>
    public IReadOnlyList<int> Dimensions => _dimensions;

    /// <summary>The number of elements: the product of <see cref="Dimensions"/>.</summary>
    public long ElementCount => _dimensions.Aggregate(1L, (product, size) => product * size);

    /// <summary>The elements' bytes as stored: row-major and, for multi-byte types, big-endian.</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>Reads an IDX file, plain or gzip-compressed.</summary>
    /// <exception cref="InvalidDataException">The file is missing, unreadable or malformed; the message names it and says why.</exception>
    public static IdxFile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            return Read(file, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IdxHeader.Invalid(path, $"it cannot be read: {ex.Message.TrimEnd('.')}", ex);
        }
    }

    /// <summary>Parses IDX bytes, plain or gzip-compressed; <paramref name="source"/> names them in error messages.</summary>
    /// <exception cref="InvalidDataException">The bytes are malformed; the message says why.</exception>
    public static IdxFile Parse(byte[] bytes, string source = "(memory)")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return Read(stream, source);
    }

    /// <summary>
    /// The elements in a new array, converted to the machine's byte order. <typeparamref name="T"/> must match
    /// <see cref="ElementType"/>: byte, sbyte, short, int, float or double.
    /// </summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> does not match the file's element type.</exception>
    public T[] ToArray<T>()
        where T : unmanaged
    {
        var requested = typeof(T) == typeof(byte) || typeof(T) == typeof(sbyte) || typeof(T) == typeof(short) ||
            typeof(T) == typeof(int) || typeof(T) == typeof(float) || typeof(T) == typeof(double)
            ? ScalarTypeExtensions.Of<T>()
            : (ScalarType?)null;
        if (requested != ElementType)
        {
            throw new InvalidOperationException(
                $"This IDX file holds {ElementType.Name()} elements; read them as {ClrName(ElementType)}, not {typeof(T).Name}.");
        }

        var result = new T[_data.Length / ElementType.ElementSize()];
        var bytes = MemoryMarshal.AsBytes(result.AsSpan());
        _data.CopyTo(bytes);
        ToMachineOrder(bytes, ElementType.ElementSize());
        return result;
    }

    /// <summary>A CPU tensor with the file's element type and <see cref="Dimensions"/> as its shape.</summary>
    public Tensor ToTensor()
    {
        var shape = _dimensions.Select(size => (long)size).ToArray();
        var elementSize = ElementType.ElementSize();
        if (elementSize == 1)
        {
            return TensorBytes.FromBytes(_data, ElementType, shape);
        }

        var bytes = (byte[])_data.Clone();
        ToMachineOrder(bytes, elementSize);
        return TensorBytes.FromBytes(bytes, ElementType, shape);
    }

    private static IdxFile Read(Stream stream, string source)
    {
        Span<byte> magic = stackalloc byte[2];
        var found = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        stream.Position = 0;
        if (found == 2 && magic[0] == 0x1F && magic[1] == 0x8B)
        {
            using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            return ReadDecompressed(gzip, source);
        }

        return ReadDecompressed(stream, source);
    }

    private static IdxFile ReadDecompressed(Stream stream, string source)
    {
        var header = IdxHeader.Read(buffer => Fill(stream, buffer, source), source);
        var data = new byte[header.DataLength];
        var read = Fill(stream, data, source);
        header.CheckDataLength(source, read < data.Length ? read : data.Length + CountRemaining(stream, source));
        return new IdxFile(header.ElementType, [.. header.Dimensions], data);
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the count read.</summary>
    private static int Fill(Stream stream, Span<byte> buffer, string source)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException ex)
        {
            // Only a GZipStream throws this: the compressed data is damaged.
            throw IdxHeader.Invalid(source, $"its gzip data is corrupt: {ex.Message.TrimEnd('.')}", ex);
        }
    }

    private static long CountRemaining(Stream stream, string source)
    {
        var buffer = new byte[4096];
        long total = 0;
        int read;
        while ((read = Fill(stream, buffer, source)) > 0)
        {
            total += read;
        }

        return total;
    }

    private static void ToMachineOrder(Span<byte> bytes, int elementSize)
    {
        if (elementSize == 1 || !BitConverter.IsLittleEndian)
        {
            return;
        }

        switch (elementSize)
        {
            case 2:
                var shorts = MemoryMarshal.Cast<byte, short>(bytes);
                BinaryPrimitives.ReverseEndianness(shorts, shorts);
                break;
            case 4:
                var ints = MemoryMarshal.Cast<byte, int>(bytes);
                BinaryPrimitives.ReverseEndianness(ints, ints);
                break;
            default:
                var longs = MemoryMarshal.Cast<byte, long>(bytes);
                BinaryPrimitives.ReverseEndianness(longs, longs);
                break;
        }
    }

    private static string ClrName(ScalarType type) => type switch
    {
        ScalarType.Byte => "byte",
        ScalarType.Int8 => "sbyte",
        ScalarType.Int16 => "short",
        ScalarType.Int32 => "int",
        ScalarType.Float32 => "float",
        _ => "double",
    };
}
