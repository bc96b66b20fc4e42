using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Engine;
using System.Buffers.Binary;
using System.Text.Json;

namespace MLNet.Diffusion.IO;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>),
/// then the raw little-endian tensor bytes. No code runs on load; every field is validated.
/// </summary>
internal static class Safetensors
{
    /// <summary>The largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>Writes tensors (in the given order) and optional string metadata to <paramref name="path"/>, atomically.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, Serialize(tensors, metadata));
    }

    /// <summary>The safetensors bytes of <paramref name="tensors"/> and <paramref name="metadata"/>.</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = new List<(string Name, Tensor Tensor, byte[] Data)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
            if (name == MetadataKey || !names.Add(name))
            {
                throw new ArgumentException($"Tensor name '{name}' is reserved or repeated.", nameof(tensors));
            }

            entries.Add((name, tensor, tensor.ToBytes()));
        }

        using var headerStream = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerStream))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, tensor, data) in entries)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", DtypeName(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (var size in tensor.shape)
                {
                    json.WriteNumberValue(size);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += data.Length;
            }

            json.WriteEndObject();
        }

        // Pad the header with spaces to a multiple of 8 so the data that follows is aligned.
        var header = headerStream.ToArray();
        var paddedLength = (header.Length + 7) / 8 * 8;
        var total = 8L + paddedLength + entries.Sum(e => (long)e.Data.Length);
        var result = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)paddedLength);
        header.CopyTo(result, 8);
        result.AsSpan(8 + header.Length, paddedLength - header.Length).Fill((byte)' ');
        var position = 8 + paddedLength;
        foreach (var (_, _, data) in entries)
        {
            data.CopyTo(result, position);
            position += data.Length;
        }

        return result;
    }

    /// <summary>Reads a safetensors file onto <paramref name="device"/> (CPU by default).</summary>
    public static SafetensorsContent Load(string path, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException ex)
        {
            throw new InvalidDataException($"Cannot read safetensors file '{path}': {ex.Message}", ex);
        }

        return Deserialize(bytes, path, device);
    }

    /// <summary>
    /// The <c>__metadata__</c> strings of the safetensors file <paramref name="path"/>, reading only its header (a checkpoint's
    /// manifest without its tensors). The header is validated as <see cref="Load"/> does; the tensor bytes are not read.
    /// </summary>
    internal static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Span<byte> prefix = stackalloc byte[8];
            if (stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
            {
                throw Invalid(path, $"it has {stream.Length} bytes, fewer than the 8-byte header length");
            }

            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > MaxHeaderBytes)
            {
                throw Invalid(path, $"its header claims {headerLength} bytes, over the {MaxHeaderBytes}-byte limit");
            }

            if (8 + (long)headerLength > stream.Length)
            {
                throw Invalid(path, $"its header claims {headerLength} bytes but only {stream.Length - 8} follow (truncated file?)");
            }

            var header = new byte[headerLength];
            stream.ReadExactly(header);
            _ = ParseHeader(header, path, out var metadata);
            return metadata;
        }
        catch (IOException ex) when (ex is not FileNotFoundException)
        {
            throw new InvalidDataException($"Cannot read safetensors file '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>Parses safetensors bytes; <paramref name="source"/> names them in error messages.</summary>
    public static SafetensorsContent Deserialize(ReadOnlySpan<byte> bytes, string source = "(memory)", Device? device = null)
    {
        if (bytes.Length < 8)
        {
            throw Invalid(source, $"it has {bytes.Length} bytes, fewer than the 8-byte header length");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes)
        {
            throw Invalid(source, $"its header claims {headerLength} bytes, over the {MaxHeaderBytes}-byte limit");
        }

        if (8 + (long)headerLength > bytes.Length)
        {
            throw Invalid(source, $"its header claims {headerLength} bytes but only {bytes.Length - 8} follow (truncated file?)");
        }

        var header = bytes.Slice(8, (int)headerLength);
        var data = bytes[(8 + (int)headerLength)..];
        var specs = ParseHeader(header, source, out var metadata);
        CheckLayout(specs, data.Length, source);

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var spec in specs)
            {
                var slice = data.Slice((int)spec.Begin, (int)(spec.End - spec.Begin));
                tensors.Add(spec.Name, TensorBytes.FromBytes(slice, spec.Dtype, spec.Shape, device).DetachFromDisposeScope());
            }
        }
        catch
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }

            throw;
        }

        return new SafetensorsContent(tensors, metadata);
    }

    private sealed record Spec(string Name, ScalarType Dtype, long[] Shape, long Begin, long End);

    private static List<Spec> ParseHeader(ReadOnlySpan<byte> header, string source, out Dictionary<string, string> metadata)
    {
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var specs = new List<Spec>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException ex)
        {
            throw Invalid(source, $"its header is not valid JSON ({ex.Message})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(source, "its header is not a JSON object");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw Invalid(source, "__metadata__ is not an object");
                    }

                    foreach (var m in property.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                        {
                            throw Invalid(source, $"metadata '{m.Name}' is not a string");
                        }

                        metadata[m.Name] = m.Value.GetString()!;
                    }

                    continue;
                }

                specs.Add(ParseSpec(property, source));
            }
        }

        return specs;
    }

    private static Spec ParseSpec(JsonProperty property, string source)
    {
        var name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(source, $"tensor '{name}' is not described by an object");
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Invalid(source, $"tensor '{name}' has no dtype string");
        }

        var dtypeName = dtypeElement.GetString()!;
        var dtype = ParseDtype(dtypeName)
            ?? throw Invalid(source, $"tensor '{name}' has dtype '{dtypeName}'; supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(source, $"tensor '{name}' has no shape array");
        }

        var shape = new List<long>();
        foreach (var size in shapeElement.EnumerateArray())
        {
            if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out var s) || s < 0)
            {
                throw Invalid(source, $"tensor '{name}' has a shape entry that is not a non-negative integer");
            }

            shape.Add(s);
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw Invalid(source, $"tensor '{name}' has no [begin, end] data_offsets");
        }

        if (!offsets[0].TryGetInt64(out var begin) || !offsets[1].TryGetInt64(out var end) || begin < 0 || end < begin)
        {
            throw Invalid(source, $"tensor '{name}' has data_offsets that are not 0 ≤ begin ≤ end");
        }

        long bytes;
        try
        {
            bytes = checked(shape.Aggregate(1L, (a, b) => a * b) * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw Invalid(source, $"tensor '{name}' has a shape too large to address");
        }

        if (end - begin != bytes)
        {
            throw Invalid(source, $"tensor '{name}' of shape [{string.Join(", ", shape)}] and dtype {dtypeName} needs {bytes} bytes but its offsets span {end - begin}");
        }

        return new Spec(name, dtype, [.. shape], begin, end);
    }

    // The data must be covered exactly: entries in offset order, each starting where the previous ended.
    private static void CheckLayout(List<Spec> specs, long dataLength, string source)
    {
        long expected = 0;
        foreach (var spec in specs.OrderBy(s => s.Begin).ThenBy(s => s.End))
        {
            if (spec.Begin != expected)
            {
                throw Invalid(source, spec.Begin < expected
                    ? $"tensor '{spec.Name}' overlaps the previous tensor"
                    : $"there is a gap before tensor '{spec.Name}' (offset {expected} to {spec.Begin})");
            }

            expected = spec.End;
        }

        if (expected != dataLength)
        {
            throw Invalid(source, expected > dataLength
                ? $"the tensors need {expected} data bytes but the file has {dataLength} (truncated file?)"
                : $"the file has {dataLength - expected} bytes after the last tensor");
        }
    }

    private static InvalidDataException Invalid(string source, string reason) =>
        new($"'{source}' is not a valid safetensors file: {reason}.");

    private static string DtypeName(ScalarType type) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors has no code for {type.Name()}."),
    };

    private static ScalarType? ParseDtype(string name) => name switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => null,
    };
}
