using MLNet.Diffusion.Data;
using MLNet.Diffusion.Engine;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Pipelines;

/// <summary>The data view sources and operations behind the Data catalog.</summary>
internal static class DataViews
{
    public static IDataView FromImageFolder(string folder, string pathColumnName, string labelColumnName)
    {
        var listing = ImageFolderListing.Read(folder);
        var relative = listing.Files.Select(f => Path.GetRelativePath(folder, f)).ToArray();
        if (listing.Labels is not { } labels)
        {
            return new RandomAccessDataView(new DataViewSchema([new(pathColumnName, ColumnType.Text)]), relative.Length, i => [relative[i]]);
        }

        var schema = new DataViewSchema([new(pathColumnName, ColumnType.Text), new(labelColumnName, ColumnType.Key(listing.ClassNames.Length))]);
        return new RandomAccessDataView(schema, relative.Length, i => [relative[i], labels[i]]);
    }

    public static IDataView FromIdx(string imagesPath, string? labelsPath, string imageColumnName, string labelColumnName)
    {
        var images = IdxFile.Load(imagesPath);
        var dims = images.Dimensions;
        if (images.ElementType != ScalarType.Byte || dims.Count is not (3 or 4) || (dims.Count == 4 && dims[3] is < 1 or > 4))
        {
            throw new InvalidDataException(
                $"IDX images file '{imagesPath}' holds [{string.Join(", ", dims)}] {images.ElementType.Name()}; images must be uint8 [N, H, W] or [N, H, W, C] with C 1 to 4.");
        }

        var (count, height, width, channels) = (dims[0], dims[1], dims[2], dims.Count == 4 ? dims[3] : 1);
        var size = height * width * channels;
        var data = images.Data;
        object ImageAt(long i) => Image.Wrap(width, height, channels, data.Slice((int)(i * size), size).ToArray());
        var imageColumn = new DataViewColumn(imageColumnName, ColumnType.Image(width, height, channels));
        if (labelsPath is null)
        {
            return new RandomAccessDataView(new DataViewSchema([imageColumn]), count, i => [ImageAt(i)]);
        }

        var labelFile = IdxFile.Load(labelsPath);
        if (labelFile.ElementType != ScalarType.Byte || labelFile.Dimensions.Count != 1 || labelFile.Dimensions[0] != count)
        {
            throw new InvalidDataException(
                $"IDX labels file '{labelsPath}' holds [{string.Join(", ", labelFile.Dimensions)}] {labelFile.ElementType.Name()}; it must be uint8 [{count}], one label per image of '{imagesPath}'.");
        }

        var labels = labelFile.Data.ToArray();
        var schema = new DataViewSchema([imageColumn, new(labelColumnName, ColumnType.Key(labels.Max() + 1))]);
        return new RandomAccessDataView(schema, count, i => [ImageAt(i), (long)labels[i]]);
    }

    public static IDataView FromEnumerable<T>(IEnumerable<T> data, DataViewSchema? schema)
        where T : class
    {
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0).ToArray();
        schema ??= new DataViewSchema(properties.Select(p => new DataViewColumn(p.Name, Infer(p))));
        var getters = schema.Select(column => properties.FirstOrDefault(p => p.Name == column.Name)
            ?? throw new ArgumentException($"Column '{column.Name}' of the schema has no public property of that name on {typeof(T).Name}.", nameof(schema))).ToArray();
        object[] Values(T item, long position)
        {
            if (item is null)
            {
                throw new InvalidDataException($"Row {position} of the {typeof(T).Name} sequence is null.");
            }

            var values = new object[getters.Length];
            for (var c = 0; c < getters.Length; c++)
            {
                var value = getters[c].GetValue(item) switch
                {
                    int i => (long)i,
                    double d => (float)d,
                    var v => v,
                };
                if (!schema[c].Type.Accepts(value))
                {
                    throw new InvalidDataException($"Row {position}, column '{schema[c].Name}': {Describe(value)} is not a value of {schema[c].Type}.");
                }

                values[c] = value!;
            }

            return values;
        }

        if (data is IReadOnlyList<T> list)
        {
            return new RandomAccessDataView(schema, list.Count, i => Values(list[(int)i], i));
        }

        return new StreamingDataView(schema, () => data.Select((item, i) => Values(item, i)));
    }

    public static IDataView Cache(IDataView view)
    {
        var rows = view.GetRows().Select(row => Enumerable.Range(0, view.Schema.Count).Select(row.GetValue).ToArray()).ToList();
        return new RandomAccessDataView(view.Schema, rows.Count, i => rows[(int)i]);
    }

    public static IDataView Shuffle(IDataView view, ulong seed)
    {
        RequireRandomAccess(view, "ShuffleRows");
        var count = view.GetRowCount()!.Value;
        long[] order;
        using (var generator = new Generator(seed))
        using (var permutation = torch.randperm(count, generator: generator).DetachFromDisposeScope())
        {
            order = permutation.data<long>().ToArray();
        }

        return new RandomAccessDataView(view.Schema, count, i => Values(view.GetRow(order[i])));
    }

    public static IDataView Take(IDataView view, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (view.CanGetRow)
        {
            return new RandomAccessDataView(view.Schema, Math.Min(count, view.GetRowCount()!.Value), i => Values(view.GetRow(i)));
        }

        return new StreamingDataView(view.Schema, () => view.GetRows().Take((int)Math.Min(count, int.MaxValue)).Select(Values));
    }

    public static void RequireRandomAccess(IDataView view, string operation)
    {
        if (!view.CanGetRow)
        {
            throw new ArgumentException($"{operation} needs rows by position, but this data view streams a one-pass sequence: cache it first (Data.Cache) or pass a list.", nameof(view));
        }
    }

    private static object[] Values(DataViewRow row) => Enumerable.Range(0, row.Schema.Count).Select(row.GetValue).ToArray();

    private static ColumnType Infer(PropertyInfo property) => property.PropertyType switch
    {
        var t when t == typeof(string) => ColumnType.Text,
        var t when t == typeof(int) || t == typeof(long) => ColumnType.WholeNumber,
        var t when t == typeof(float) || t == typeof(double) => ColumnType.RealNumber,
        var t when t == typeof(Image) => ColumnType.Image(),
        var t when t == typeof(float[]) => ColumnType.Vector(),
        var t => throw new ArgumentException(
            $"Property '{property.Name}' is {t.Name}; data view columns are string, int, long, float, double, Image or float[] (or pass a schema naming the columns to use).", nameof(property)),
    };

    private static string Describe(object? value) => value switch
    {
        null => "null",
        float[] v => $"a vector of {v.Length} floats",
        Image i => i.ToString(),
        _ => $"{value} ({value.GetType().Name})",
    };
}
