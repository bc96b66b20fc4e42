using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.Pipeline;

/// <summary>Getters of the generated image, pixel and class columns, shared by the generated view's cursors and the row mapper's rows.</summary>
internal static class GenerationGetters
{
    /// <summary>
    /// A getter of <paramref name="column"/>: the image or the pixel column over the pixels <paramref name="current"/> returns, or
    /// the class column over the labels <paramref name="label"/> returns (key = class + 1; the unconditional label is key 0, missing).
    /// </summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="TValue"/> is not the column's type.</exception>
    public static ValueGetter<TValue> Create<TValue>(GenerationColumns columns, DataViewSchema.Column column, Func<ReadOnlyMemory<float>> current, Func<Func<int>> label)
    {
        if (column.Index == columns.ClassIndex)
        {
            Check<TValue, uint>(column);
            var read = label();
            ValueGetter<uint> key = (ref uint value) => value = (uint)(read() + 1);
            return (ValueGetter<TValue>)(Delegate)key;
        }

        if (column.Index == columns.ImageIndex)
        {
            Check<TValue, MLImage>(column);
            ValueGetter<MLImage> image = (ref MLImage value) => value = columns.ToImage(current().Span);
            return (ValueGetter<TValue>)(Delegate)image;
        }

        Check<TValue, VBuffer<float>>(column);
        ValueGetter<VBuffer<float>> pixels = (ref VBuffer<float> value) =>
        {
            var source = current().Span;
            var editor = VBufferEditor.Create(ref value, source.Length);
            source.CopyTo(editor.Values);
            value = editor.Commit();
        };
        return (ValueGetter<TValue>)(Delegate)pixels;
    }

    private static void Check<TValue, TExpected>(DataViewSchema.Column column)
    {
        if (typeof(TValue) != typeof(TExpected))
        {
            throw new InvalidOperationException($"Column '{column.Name}' holds {column.Type} values, read as {typeof(TExpected).Name}; {typeof(TValue).Name} was asked for.");
        }
    }
}
