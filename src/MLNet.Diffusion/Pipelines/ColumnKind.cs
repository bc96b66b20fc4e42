using MLNet.Diffusion.Data;
namespace MLNet.Diffusion.Pipelines;

/// <summary>What a <see cref="DataViewColumn"/> holds, and so the .NET type of its values.</summary>
public enum ColumnKind
{
    /// <summary>Text: <see cref="string"/> values (file paths, names).</summary>
    Text,

    /// <summary>A whole number, 64-bit: <see cref="long"/> values (seeds, counts).</summary>
    WholeNumber,

    /// <summary>A real number, 32-bit float: <see cref="float"/> values.</summary>
    RealNumber,

    /// <summary>A class label 0 … <see cref="ColumnType.KeyCount"/> − 1: <see cref="long"/> values.</summary>
    Key,

    /// <summary>An 8-bit image: <see cref="Image"/> values.</summary>
    Image,

    /// <summary>A vector of 32-bit floats (pixels in model space): <see cref="float"/>[] values.</summary>
    Vector,
}
