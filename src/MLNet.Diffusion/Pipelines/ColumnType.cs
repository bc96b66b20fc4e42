using MLNet.Diffusion.Data;
using System.Globalization;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// The type of a column: its <see cref="ColumnKind"/> and, where the kind has them, its sizes — the class count of a
/// key, the width, height and channels of an image, the shape of a vector. Sizes a view cannot know before reading
/// its rows are null; estimators check sizes before fitting, so a pipeline fails at once, not after an hour.
/// </summary>
public sealed class ColumnType : IEquatable<ColumnType>
{
    private ColumnType(ColumnKind kind, int? keyCount = null, int? width = null, int? height = null, int? channels = null,
        IReadOnlyList<int>? dimensions = null, PixelEncoding? encoding = null, ImageResizeMode? resizing = null)
    {
        (Kind, KeyCount, Width, Height, Channels, Dimensions, Encoding, Resizing) = (kind, keyCount, width, height, channels, dimensions, encoding, resizing);
    }

    /// <summary>Text values (<see cref="string"/>).</summary>
    public static ColumnType Text { get; } = new(ColumnKind.Text);

    /// <summary>64-bit integer values (<see cref="long"/>).</summary>
    public static ColumnType WholeNumber { get; } = new(ColumnKind.WholeNumber);

    /// <summary>32-bit float values (<see cref="float"/>).</summary>
    public static ColumnType RealNumber { get; } = new(ColumnKind.RealNumber);

    /// <summary>What the column holds.</summary>
    public ColumnKind Kind { get; }

    /// <summary>The number of classes of a key column (values 0 … count − 1).</summary>
    public int? KeyCount { get; }

    /// <summary>The width of an image column's images, when every image has it.</summary>
    public int? Width { get; }

    /// <summary>The height of an image column's images, when every image has it.</summary>
    public int? Height { get; }

    /// <summary>The channels of an image column's images (1 to 4), when every image has them.</summary>
    public int? Channels { get; }

    /// <summary>The shape of a vector column's vectors (for pixels [C, H, W], or [H, W, C] interleaved), when known.</summary>
    public IReadOnlyList<int>? Dimensions { get; }

    /// <summary>How a vector column's floats map to pixel bytes, when they are pixels.</summary>
    public PixelEncoding? Encoding { get; }

    /// <summary>How an image column's images were resized (by ResizeImages), when they were.</summary>
    public ImageResizeMode? Resizing { get; }

    /// <summary>The .NET type of the column's values.</summary>
    public Type ValueType => Kind switch
    {
        ColumnKind.Text => typeof(string),
        ColumnKind.RealNumber => typeof(float),
        ColumnKind.Image => typeof(Image),
        ColumnKind.Vector => typeof(float[]),
        _ => typeof(long),
    };

    /// <summary>Class labels 0 … <paramref name="count"/> − 1 (<see cref="long"/> values).</summary>
    public static ColumnType Key(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new(ColumnKind.Key, keyCount: count);
    }

    /// <summary>Images; sizes left null are unknown (they may differ from row to row).</summary>
    /// <param name="width">The width of every image, or null.</param>
    /// <param name="height">The height of every image, or null.</param>
    /// <param name="channels">The channels (1 to 4) of every image, or null.</param>
    /// <param name="resizing">How the images were resized, when they were.</param>
    public static ColumnType Image(int? width = null, int? height = null, int? channels = null, ImageResizeMode? resizing = null)
    {
        if (width is < 1 || height is < 1)
        {
            throw new ArgumentOutOfRangeException(width is < 1 ? nameof(width) : nameof(height), "Image sizes must be at least 1 pixel.");
        }

        if (channels is < 1 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 to 4.");
        }

        return new(ColumnKind.Image, width: width, height: height, channels: channels, resizing: resizing);
    }

    /// <summary>Float vectors of shape <paramref name="dimensions"/> (null: unknown size), optionally pixels with their <paramref name="encoding"/>.</summary>
    public static ColumnType Vector(IReadOnlyList<int>? dimensions = null, PixelEncoding? encoding = null)
    {
        if (dimensions is not null && (dimensions.Count == 0 || dimensions.Any(d => d < 1)))
        {
            throw new ArgumentException($"Vector dimensions must be one or more sizes ≥ 1, not [{string.Join(", ", dimensions)}].", nameof(dimensions));
        }

        return new(ColumnKind.Vector, dimensions: dimensions?.ToArray(), encoding: encoding);
    }

    /// <summary>Describes the type, e.g. <c>Image 32×32×3</c>, <c>Key(10)</c>, <c>Vector&lt;float&gt; [3, 32, 32]</c>.</summary>
    public override string ToString() => Kind switch
    {
        ColumnKind.Key => string.Create(CultureInfo.InvariantCulture, $"Key({KeyCount})"),
        ColumnKind.Image when Width is null && Height is null && Channels is null => "Image (any size)",
        ColumnKind.Image => $"Image {Size(Width)}×{Size(Height)}×{Size(Channels)}",
        ColumnKind.Vector => Dimensions is null ? "Vector<float> (any size)" : $"Vector<float> [{string.Join(", ", Dimensions)}]",
        _ => Kind.ToString(),
    };

    /// <inheritdoc/>
    public bool Equals(ColumnType? other) =>
        other is not null && Kind == other.Kind && KeyCount == other.KeyCount && Width == other.Width && Height == other.Height &&
        Channels == other.Channels && Encoding == other.Encoding && Resizing == other.Resizing &&
        (Dimensions is null ? other.Dimensions is null : other.Dimensions is not null && Dimensions.SequenceEqual(other.Dimensions));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ColumnType);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, KeyCount, Width, Height, Channels, Dimensions?.Count, Encoding);

    /// <summary>Whether <paramref name="value"/> is a value of this type (null never is); sizes are checked where known.</summary>
    internal bool Accepts(object? value) => value switch
    {
        string => Kind == ColumnKind.Text,
        long l => Kind == ColumnKind.WholeNumber || (Kind == ColumnKind.Key && l >= 0 && l < KeyCount),
        float => Kind == ColumnKind.RealNumber,
        Data.Image image => Kind == ColumnKind.Image && (Width ?? image.Width) == image.Width && (Height ?? image.Height) == image.Height &&
            (Channels ?? image.Channels) == image.Channels,
        float[] vector => Kind == ColumnKind.Vector && (Dimensions is null || Dimensions.Aggregate(1L, (p, d) => p * d) == vector.Length),
        _ => false,
    };

    private static string Size(int? size) => size?.ToString(CultureInfo.InvariantCulture) ?? "?";
}
