using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.Pipeline;

/// <summary>Integer columns (and keys, whose raw values are integers) read as <see cref="long"/>: labels and seeds.</summary>
internal static class IntegerColumn
{
    /// <summary>Whether <paramref name="type"/>'s values are integers of any width and sign (keys included).</summary>
    public static bool IsInteger(DataViewType type) =>
        type.RawType is var t && (t == typeof(int) || t == typeof(long) || t == typeof(uint) || t == typeof(ulong) || t == typeof(short)
            || t == typeof(ushort) || t == typeof(byte) || t == typeof(sbyte));

    /// <summary>A getter of <paramref name="column"/>'s raw value in <paramref name="row"/>; UInt64 values above <see cref="long.MaxValue"/> read as
    /// <see cref="long.MinValue"/>, which every check of a seed or label refuses (−1 is a valid label: unconditional).</summary>
    /// <exception cref="ArgumentException">The column does not hold integers.</exception>
    public static Func<long> Reader(DataViewRow row, DataViewSchema.Column column) => column.Type.RawType switch
    {
        var t when t == typeof(uint) => Read<uint>(row, column, v => v),
        var t when t == typeof(ulong) => Read<ulong>(row, column, v => v > long.MaxValue ? long.MinValue : (long)v),
        var t when t == typeof(ushort) => Read<ushort>(row, column, v => v),
        var t when t == typeof(byte) => Read<byte>(row, column, v => v),
        var t when t == typeof(int) => Read<int>(row, column, v => v),
        var t when t == typeof(long) => Read<long>(row, column, v => v),
        var t when t == typeof(short) => Read<short>(row, column, v => v),
        var t when t == typeof(sbyte) => Read<sbyte>(row, column, v => v),
        _ => throw new ArgumentException($"Column '{column.Name}' holds {column.Type}, not integers."),
    };

    private static Func<long> Read<T>(DataViewRow row, DataViewSchema.Column column, Func<T, long> convert)
    {
        var getter = row.GetGetter<T>(column);
        T value = default!;
        return () =>
        {
            getter(ref value);
            return convert(value);
        };
    }
}
