using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// A <see cref="DiffusionModel"/>'s generation bound to an input schema: which input columns hold seeds and labels, and the
/// output schema (the input's columns, then the image and pixel columns, and for a class-conditional model given labels the
/// class column: a key of the classes whose key values are their names, as MapValueToKey makes one).
/// </summary>
internal sealed class GenerationColumns
{
    private GenerationColumns(DiffusionModel model, DataViewSchema input, DataViewSchema.Column seed, DataViewSchema.Column? label,
        ImageEditingOptions? editing = null, DataViewSchema.Column? image = null, DataViewSchema.Column? mask = null)
    {
        (Model, InputSchema, Seed, Label, Editing, Image, Mask) = (model, input, seed, label, editing, image, mask);
        var config = model.Config;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        builder.AddColumn(editing?.OutputColumnName ?? model.ImageColumnName, new ImageDataViewType(config.ImageSize, config.ImageSize));
        builder.AddColumn(editing is null ? model.PixelsColumnName : editing.OutputColumnName + "Pixels",
            new VectorDataViewType(NumberDataViewType.Single, config.InChannels, config.ImageSize, config.ImageSize));
        if (label is not null && config.NumClasses is { } classes)
        {
            var names = (model.ClassNames ?? [.. Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))])
                .Select(n => n.AsMemory()).ToArray();
            var annotations = new DataViewSchema.Annotations.Builder();
            annotations.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, classes),
                (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names));
            builder.AddColumn(model.ClassNameColumnName, new KeyDataViewType(typeof(uint), classes), annotations.ToAnnotations());
            ClassIndex = input.Count + 2;
        }

        OutputSchema = builder.ToSchema();
        ImageIndex = input.Count;
        PixelsIndex = input.Count + 1;
    }

    public DiffusionModel Model { get; }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public DataViewSchema.Column Seed { get; }

    public DataViewSchema.Column? Label { get; }

    /// <summary>The index of the image column in <see cref="OutputSchema"/>.</summary>
    public int ImageIndex { get; }

    /// <summary>The index of the pixel column in <see cref="OutputSchema"/>.</summary>
    public int PixelsIndex { get; }

    /// <summary>The index of the class column in <see cref="OutputSchema"/>, or null when there is none (no labels).</summary>
    public int? ClassIndex { get; }

    /// <summary>What an editing transformer does, or null for generation.</summary>
    public ImageEditingOptions? Editing { get; }

    /// <summary>The images an editing transformer reads.</summary>
    public DataViewSchema.Column? Image { get; }

    /// <summary>The mask inpainting reads.</summary>
    public DataViewSchema.Column? Mask { get; }

    /// <summary>The input columns generation (or editing) reads.</summary>
    public IEnumerable<DataViewSchema.Column> Needed =>
        new[] { Seed, Label, Image, Mask }.Where(c => c is not null).Select(c => c!.Value);

    /// <summary>
    /// The binding of an editing transformer to <paramref name="schema"/>: seeds, labels when the view has them, the images and for
    /// inpainting the mask, each checked.
    /// </summary>
    /// <exception cref="ArgumentException">A column is missing or has the wrong type; the message names it and the fix.</exception>
    public static GenerationColumns BindEditing(DiffusionModel model, ImageEditingOptions editing, DataViewSchema schema)
    {
        var (channels, size) = (model.Config.InChannels, model.Config.ImageSize);
        var seed = schema.GetColumnOrNull(editing.SeedColumnName) ?? throw new ArgumentException(
            $"Column '{editing.SeedColumnName}' not found: editing needs a seed per row (an integer ≥ 0, which decides its noise); add one, e.g. " +
            "with ml.Transforms.Expression or a Seed property of the rows, or set SeedColumnName.", nameof(schema));
        CheckSeed(seed);
        var image = schema.GetColumnOrNull(editing.InputColumnName) ?? throw new ArgumentException(
            $"Column '{editing.InputColumnName}' not found: editing reads the images as Single [{channels}, {size}, {size}] (LoadImages, ResizeImages({size}, {size}), " +
            "then ExtractPixels with the model's encoding); set InputColumnName to read another column.", nameof(schema));
        if (image.Type is not VectorDataViewType { ItemType: var itemType } vector || itemType != NumberDataViewType.Single
            || !vector.Dimensions.SequenceEqual([channels, size, size]))
        {
            throw new ArgumentException(
                $"Column '{image.Name}' holds {image.Type}; this model edits Single [{channels}, {size}, {size}] images: ResizeImages(\"…\", {size}, {size}) then " +
                $"ExtractPixels{(channels == 1 ? " with colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Red (gray)" : string.Empty)} and the model's offset and scale.", nameof(schema));
        }

        DataViewSchema.Column? mask = null;
        if (editing.MaskColumnName is { } maskName)
        {
            mask = schema.GetColumnOrNull(maskName) ?? throw new ArgumentException(
                $"Column '{maskName}' not found: inpainting reads a mask of Single [1 or {channels}, {size}, {size}] (ExtractPixels of a black-and-white image, " +
                "white keeping a pixel, black generating it).", nameof(schema));
            if (mask.Value.Type is not VectorDataViewType { ItemType: var maskItem } maskVector || maskItem != NumberDataViewType.Single
                || maskVector.Dimensions.Length != 3 || (maskVector.Dimensions[0] != 1 && maskVector.Dimensions[0] != channels)
                || maskVector.Dimensions[1] != size || maskVector.Dimensions[2] != size)
            {
                throw new ArgumentException(
                    $"Column '{maskName}' holds {mask.Value.Type}; a mask of this model's images is Single [1 or {channels}, {size}, {size}] of the images' size.", nameof(schema));
            }
        }

        var label = model.Config.NumClasses is not null && schema.GetColumnOrNull(editing.LabelColumnName) is { } found ? CheckLabel(model, found) : (DataViewSchema.Column?)null;
        return new GenerationColumns(model, schema, seed, label, editing, image, mask);
    }

    /// <summary>A getter of the row's images (planar values), or null for generation.</summary>
    public Func<float[]>? ImageGetter(DataViewRow row) => Image is { } column ? VectorGetter(row, column) : null;

    /// <summary>A getter of the row's keep-flags (0 or 1; 255 read as 1), or null without a mask; another value fails naming the row.</summary>
    public Func<float[]>? MaskGetter(DataViewRow row)
    {
        if (Mask is not { } column)
        {
            return null;
        }

        var read = VectorGetter(row, column);
        return () =>
        {
            var values = read();
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = values[i] switch
                {
                    0 => 0,
                    1 or 255 => 1,
                    var other => throw new InvalidDataException(
                        $"Row {row.Position}: column '{column.Name}' holds {other} at index {i}; a mask holds only 0 (generate) and 1 or 255 (keep)."),
                };
            }

            return values;
        };
    }

    /// <summary>The results for one batch of rows: generated images, or the editing transformer's, as planar 0–255 floats.</summary>
    public float[] Compute(ulong[] seeds, int[]? labels, float[]? images, float[]? masks) =>
        Editing is { } editing ? Model.EditPixels(editing, seeds, labels, images!, masks) : Model.GeneratePixels(seeds, labels);

    private static Func<float[]> VectorGetter(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<VBuffer<float>>(column);
        var buffer = default(VBuffer<float>);
        return () =>
        {
            getter(ref buffer);
            return buffer.DenseValues().ToArray();
        };
    }

    /// <summary>
    /// The binding for <paramref name="schema"/>, or null when it is a training view (no seed column, but the training column).
    /// </summary>
    /// <exception cref="ArgumentException">A column has the wrong type, or the view has neither a seed nor a training column.</exception>
    public static GenerationColumns? Bind(DiffusionModel model, DataViewSchema schema)
    {
        if (schema.GetColumnOrNull(model.SeedColumnName) is not { } seed)
        {
            return schema.GetColumnOrNull(model.FeatureColumnName) is not null
                ? null
                : throw new ArgumentException(
                    $"Column '{model.SeedColumnName}' not found: generating images needs a column of seeds (integers ≥ 0), such as the view " +
                    "mlContext.Diffusion().CreateSeeds(count) makes; set SeedColumnName to use another column.", nameof(schema));
        }

        CheckSeed(seed);
        var label = model.Config.NumClasses is not null && schema.GetColumnOrNull(model.LabelColumnName) is { } found ? CheckLabel(model, found) : (DataViewSchema.Column?)null;
        return new GenerationColumns(model, schema, seed, label);
    }

    private static void CheckSeed(DataViewSchema.Column seed, string parameterName = "schema")
    {
        if (!IntegerColumn.IsInteger(seed.Type) || seed.Type is KeyDataViewType)
        {
            throw new ArgumentException(
                $"Column '{seed.Name}' holds {seed.Type}; seeds must be an integer column (Int32, Int64, UInt32 or UInt64) of values ≥ 0.", parameterName);
        }
    }

    private static DataViewSchema.Column CheckLabel(DiffusionModel model, DataViewSchema.Column found, string parameterName = "schema")
    {
        var classes = model.Config.NumClasses!.Value;
        if (found.Type is TextDataViewType && model.ClassNames is null)
        {
            throw new ArgumentException(
                $"Column '{found.Name}' holds class names, but this model records none: its classes are the numbers 0 to {classes - 1} " +
                $"({GenerationOptions.UnconditionalLabel} for an unconditional image). Give the labels as integers.", parameterName);
        }

        if ((!IntegerColumn.IsInteger(found.Type) && found.Type is not TextDataViewType) || (found.Type is KeyDataViewType key && key.Count > (ulong)classes))
        {
            throw new ArgumentException(
                $"Column '{found.Name}' holds {found.Type}; this model's labels are a key of at most {classes} values, integers 0 to {classes - 1} or class names " +
                $"({GenerationOptions.UnconditionalLabel} for an unconditional image). " +
                "Map class names to keys with MapValueToKey, or drop the column to generate unconditionally.", parameterName);
        }

        return found;
    }

    /// <summary>A getter of the row's seed, checked to be ≥ 0.</summary>
    public Func<ulong> SeedGetter(DataViewRow row)
    {
        var name = Seed.Name;
        var read = IntegerColumn.Reader(row, Seed);
        return () =>
        {
            var value = read();
            return value >= 0 ? (ulong)value : throw new InvalidDataException($"Row {row.Position}: seed {value} in column '{name}' is negative (or above 2^63 − 1).");
        };
    }

    /// <summary>
    /// A getter of the row's class (0-based, or <see cref="GenerationOptions.UnconditionalLabel"/>), or null when the model
    /// generates unconditionally.
    /// </summary>
    public Func<int>? LabelGetter(DataViewRow row)
    {
        if (Label is not { } column)
        {
            return null;
        }

        var classes = Model.Config.NumClasses!.Value;
        if (column.Type is TextDataViewType)
        {
            return NameGetter(row, column);
        }

        var read = IntegerColumn.Reader(row, column);
        var key = column.Type is KeyDataViewType;
        return () =>
        {
            // A key is 1-based, and 0 is ML.NET's missing value (MapValueToKey gives it to a class it does not know): no class.
            var value = key ? read() - 1 : read();
            return value >= GenerationOptions.UnconditionalLabel && value < classes
                ? (int)value
                : throw new InvalidDataException(
                    $"Row {row.Position}: label {value} in column '{column.Name}' is outside 0 to {classes - 1} (and is not {GenerationOptions.UnconditionalLabel}, the unconditional label).");
        };
    }

    // A class name of the model, by index; anything else is refused with the names.
    private Func<int> NameGetter(DataViewRow row, DataViewSchema.Column column)
    {
        var names = Model.ClassNames!;
        var index = names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
        var value = default(ReadOnlyMemory<char>);
        return () =>
        {
            getter(ref value);
            var name = value.ToString();
            return index.TryGetValue(name, out var c)
                ? c
                : throw new InvalidDataException(
                    $"Row {row.Position}: '{name}' in column '{column.Name}' is not a class of this model; its classes are {string.Join(", ", names)}.");
        };
    }

    /// <summary>The <see cref="MLImage"/> for planar 0–255 pixels [C, H, W] (gray repeated into red, green and blue; opaque).</summary>
    public MLImage ToImage(ReadOnlySpan<float> pixels)
    {
        var (channels, size) = (Model.Config.InChannels, Model.Config.ImageSize);
        var plane = size * size;
        var rgba = new byte[plane * 4];
        for (var i = 0; i < plane; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                rgba[(i * 4) + c] = PixelEncoding.WholePixelToByte(pixels[(channels == 1 ? 0 : c * plane) + i]);
            }

            rgba[(i * 4) + 3] = 255;
        }

        return MLImage.CreateFromPixels(size, size, MLPixelFormat.Rgba32, rgba);
    }
}
