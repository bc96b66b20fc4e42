using MLNet.Diffusion.Data;
namespace MLNet.Diffusion.Pipelines;

/// <summary>One column of a <see cref="DataViewSchema"/>: its name and type.</summary>
/// <param name="Name">The column's name, unique within its schema.</param>
/// <param name="Type">What the column holds.</param>
public sealed record DataViewColumn(string Name, ColumnType Type)
{
    /// <summary>Describes the column, e.g. <c>Pixels: Vector&lt;float&gt; [3, 32, 32]</c>.</summary>
    public override string ToString() => $"{Name}: {Type}";
}
