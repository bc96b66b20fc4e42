using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// What <c>mlContext.Model.Save</c> writes for a <see cref="DiffusionModel"/>: ML.NET does not let a third-party
/// transformer write its own entry (its save context is internal), so the model saves itself as a chain of ML.NET's
/// built-in transformers that need no MLNet.Diffusion to load:
/// seed (and label) → ConvertType to int64 [→ MapValue: label → ClassName, a key whose key values are the class names]
/// → ApplyOnnxModel (the generator graph) → Pixels → ConvertToImage → Image.
/// </summary>
internal static class BuiltInTransformerChain
{
    // The generator graph's input and output names (GeneratorGraph), which OnnxTransformer uses as column names.
    private const string SeedInput = "seed";
    private const string LabelInput = "label";
    private const string PixelsOutput = "pixels";
    private const string RgbOutput = "rgb";
    private const string ImageInput = "image";
    private const string MaskInput = "mask";

    /// <summary>Writes <paramref name="model"/> into <paramref name="ctx"/> as the built-in chain.</summary>
    public static void Save(DiffusionModel model, ModelSaveContext ctx)
    {
        var ml = new MLContext();
        SaveChain(ctx, model.ToOnnx(model.TransformOptions, rgbForGray: true), file => Build(ml, model, file).Fit(EmptySeeds(ml, model)));
    }

    // Fits the chain `fit` builds around the graph `bytes` and saves it into ctx. ApplyOnnxModel(Stream) would leave a temporary
    // file behind for good; a file of our own is deleted here.
    private static void SaveChain(ModelSaveContext ctx, byte[] bytes, Func<string, ITransformer> fit)
    {
        var file = Path.Combine(Path.GetTempPath(), $"mlnet-diffusion-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(file, bytes);
        ITransformer? chain = null;
        try
        {
            chain = fit(file);
            chain.Save(ctx);
        }
        finally
        {
            (chain as IDisposable)?.Dispose();
            File.Delete(file);
        }
    }

    /// <summary>
    /// Refuses a seeds schema the saved transformers could not run on: ML.NET's ConvertType turns Int32 and Int64 into
    /// the graph's int64 but refuses unsigned, floating-point and key columns, and a class-conditional generator reads a
    /// label column (−1 for none). A schema without the seed column (a whole chain saved with its training rows' schema)
    /// is not a seeds schema and passes.
    /// </summary>
    public static void CheckSeedsSchema(DiffusionModel model, DataViewSchema schema)
    {
        if (schema.GetColumnOrNull(model.SeedColumnName) is not { } seed)
        {
            return;
        }

        CheckSigned(seed, "seeds (≥ 0)");
        if (model.Config.NumClasses is { } classes)
        {
            var label = schema.GetColumnOrNull(model.LabelColumnName)
                ?? throw new ArgumentException(
                    $"The model is class-conditional and the seeds schema has no '{model.LabelColumnName}' column: the saved transformers read one " +
                    $"(a class 0 to {classes - 1}, or −1 for an unconditional image). Add it to the seeds view (CreateSeeds(count, labels: ...)).", nameof(schema));
            CheckSigned(label, "classes");
        }
    }

    /// <summary>
    /// Refuses a chain ending in a generator whose earlier stages cannot be applied to <paramref name="inputSchema"/>: a fitted
    /// training pipeline (MapValueToKey → LoadImages → … → DiffusionModel) saved with a seeds schema loads, then fails on
    /// the seeds in ML.NET's words ("Could not apply a map over type 'String' to column 'Label'"), far from the save. Each
    /// stage's output schema is computed from the one before, as ML.NET does when the chain is applied.
    /// </summary>
    /// <exception cref="ArgumentException">A stage cannot be applied; the message names it, ML.NET's reason and the fix (<c>LastTransformer</c>).</exception>
    public static void CheckStagesBefore(IReadOnlyList<ITransformer> stages, DataViewSchema inputSchema)
    {
        var current = inputSchema;
        for (var i = 0; i < stages.Count - 1; i++)
        {
            try
            {
                current = stages[i].GetOutputSchema(current);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
            {
                var columns = string.Join(", ", inputSchema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' {c.Type}"));
                throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Stage {i + 1} of the chain's {stages.Count} ({stages[i].GetType().Name}) cannot be applied to the input schema given ({columns}): {ex.Message.TrimEnd('.')}. ") +
                    "The stages before the DiffusionModel read the columns of the training rows, which seeds do not have, so the saved chain would fail when applied to them. " +
                    "Save the generator alone with the seeds' schema: SaveModel(model.LastTransformer, seeds.Schema, path) (the DiffusionModel takes seeds), " +
                    "or give the training rows' schema to save the whole chain for them.", nameof(inputSchema), ex);
            }
        }
    }

    // A saved editing chain's seed and label columns: what ConvertType turns into the graph's int64.
    private static void CheckInteger(DataViewSchema.Column column, string what)
    {
        if (column.Type != NumberDataViewType.Int32 && column.Type != NumberDataViewType.Int64)
        {
            throw new ArgumentException(
                $"Column '{column.Name}' holds {column.Type}; a saved editing chain reads its {what} as Int32 or Int64 (ML.NET's ConvertType, which the saved " +
                "chain starts with, cannot turn text, key, unsigned or floating-point values into the graph's int64). The live stage reads them; to save it, give " +
                "the column as Int32 or Int64 numbers.", nameof(column));
        }
    }

    private static void CheckSigned(DataViewSchema.Column column, string what)
    {
        if (column.Type is TextDataViewType)
        {
            throw new ArgumentException(
                $"Column '{column.Name}' holds class names; a saved generator takes its {what} as Int32 or Int64 numbers (ML.NET's MapValue, the only " +
                "built-in way to map names, would give a name it does not know class 0 without a word). Save with the schema of " +
                "CreateSeeds(count, labels: [numbers]); an app that loads the file reads the names from its ClassName column's key values.", nameof(column));
        }

        if (column.Type != NumberDataViewType.Int32 && column.Type != NumberDataViewType.Int64)
        {
            throw new ArgumentException(
                $"Column '{column.Name}' holds {column.Type}; a saved generator takes its {what} as Int32 or Int64 (ML.NET's ConvertType, which the " +
                "saved model starts with, cannot turn unsigned, floating-point or key values into the graph's int64).", nameof(column));
        }
    }

    /// <summary>
    /// An empty view with the seeds schema <see cref="DiffusionModel.Save(string)"/> records: the rows of
    /// <c>CreateSeeds</c> under the model's column names. Enough for Fit, which only binds columns (OnnxTransformer,
    /// ConvertType and ConvertToImage learn nothing from data).
    /// </summary>
    public static IDataView EmptySeeds(MLContext ml, DiffusionModel model)
    {
        if (model.Config.NumClasses is null)
        {
            var definition = SchemaDefinition.Create(typeof(DiffusionCatalog.SeedRow));
            definition[nameof(DiffusionCatalog.SeedRow.Seed)].ColumnName = model.SeedColumnName;
            return ml.Data.LoadFromEnumerable(Array.Empty<DiffusionCatalog.SeedRow>(), definition);
        }

        var labelled = SchemaDefinition.Create(typeof(DiffusionCatalog.LabelledSeedRow));
        labelled[nameof(DiffusionCatalog.LabelledSeedRow.Seed)].ColumnName = model.SeedColumnName;
        labelled[nameof(DiffusionCatalog.LabelledSeedRow.Label)].ColumnName = model.LabelColumnName;
        return ml.Data.LoadFromEnumerable(Array.Empty<DiffusionCatalog.LabelledSeedRow>(), labelled);
    }

    private static IEstimator<ITransformer> Build(MLContext ml, DiffusionModel model, string onnxFile) =>
        Build(ml, model, onnxFile, new Columns(model.SeedColumnName, model.Config.NumClasses is null ? null : model.LabelColumnName, null, null,
            model.PixelsColumnName, model.ImageColumnName));

    // The chain for the graph in onnxFile: the seed (and label) converted to its int64 inputs, images and masks copied to its float
    // inputs, its pixels into the user's pixel column, and its pixels (or the gray graph's rgb) into an MLImage.
    private static IEstimator<ITransformer> Build(MLContext ml, DiffusionModel model, string onnxFile, Columns columns)
    {
        var gray = model.Config.InChannels == 1;
        var temporary = new List<string>();
        IEstimator<ITransformer> chain = ml.Transforms.Conversion.ConvertType(SeedInput, columns.Seed, DataKind.Int64);
        temporary.Add(SeedInput);
        var inputs = new List<string> { SeedInput };
        if (columns.Label is { } labelColumn)
        {
            chain = chain.Append(ml.Transforms.Conversion.ConvertType(LabelInput, labelColumn, DataKind.Int64));
            temporary.Add(LabelInput);

            // The class column of the live model: MapValue with its values as keys numbers them in the order given (key c + 1 is
            // class c, a label it does not know, the unconditional −1, is the missing key 0) and records the names as key values.
            var names = model.ClassNames ?? [.. Enumerable.Range(0, model.Config.NumClasses!.Value).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
            chain = chain.Append(ml.Transforms.Conversion.MapValue(model.ClassNameColumnName,
                names.Select((name, c) => new KeyValuePair<long, ReadOnlyMemory<char>>(c, name.AsMemory())), LabelInput, treatValuesAsKeyType: true));
            inputs.Add(LabelInput);
        }

        foreach (var (input, source) in new[] { (ImageInput, columns.Image), (MaskInput, columns.Mask) })
        {
            if (source is not null)
            {
                if (source != input)
                {
                    chain = chain.Append(ml.Transforms.CopyColumns(input, source));
                    temporary.Add(input);
                }

                inputs.Add(input);
            }
        }

        string[] outputs = gray ? [PixelsOutput, RgbOutput] : [PixelsOutput];
        temporary.AddRange(outputs);
        chain = chain.Append(ml.Transforms.ApplyOnnxModel(outputs, [.. inputs], onnxFile));
        if (columns.Pixels != PixelsOutput)
        {
            chain = chain.Append(ml.Transforms.CopyColumns(columns.Pixels, PixelsOutput));
        }

        var size = model.Config.ImageSize;
        // Default scale and offset: the graph already rounded and clamped to 0–255, and alpha is the default 255.
        chain = chain.Append(ml.Transforms.ConvertToImage(size, size, columns.Output, gray ? RgbOutput : PixelsOutput));
        var user = new HashSet<string>(new[] { columns.Seed, columns.Label, columns.Image, columns.Mask, columns.Pixels, columns.Output, model.ClassNameColumnName }.OfType<string>());
        var drop = temporary.Where(c => !user.Contains(c)).Distinct().ToArray();
        return drop.Length == 0 ? chain : chain.Append(ml.Transforms.DropColumns(drop));
    }

    /// <summary>
    /// Writes an editing transformer into <paramref name="ctx"/> as the built-in chain around its editing graph, bound as it was to
    /// <paramref name="inputSchema"/> (the schema it was fitted on): images and masks copied to the graph's inputs, the output columns of
    /// the live transformer.
    /// </summary>
    /// <exception cref="ArgumentException">A column cannot be read by the saved chain (class names or keys as labels, unsigned seeds), or
    /// the view has a column of the graph's own names that the chain would hide.</exception>
    public static void SaveEditing(DiffusionModel model, ImageEditingOptions options, DataViewSchema inputSchema, ModelSaveContext ctx)
    {
        var bound = GenerationColumns.BindEditing(model, options, inputSchema);
        CheckInteger(bound.Seed, "seeds (≥ 0)");
        if (bound.Label is { } label)
        {
            CheckInteger(label, $"labels (0 to {model.Config.NumClasses - 1}, or −1 for none)");
        }

        var columns = new Columns(bound.Seed.Name, bound.Label?.Name, bound.Image!.Value.Name, bound.Mask?.Name, options.OutputColumnName + "Pixels", options.OutputColumnName);
        var used = new (string Name, string? Source)[] { (SeedInput, columns.Seed), (LabelInput, columns.Label), (ImageInput, columns.Image), (MaskInput, columns.Mask), (PixelsOutput, null), (RgbOutput, null) }
            .Where(u => u.Name is SeedInput or ImageInput or PixelsOutput || (u.Name is LabelInput or MaskInput && u.Source is not null) || (u.Name == RgbOutput && model.Config.InChannels == 1));
        foreach (var (name, source) in used)
        {
            // The chain writes a column of this name: a user's column under it would be replaced, or (a seed or label already named so) change type.
            if (inputSchema.GetColumnOrNull(name) is { IsHidden: false } existing && (name != source || (name is SeedInput or LabelInput && existing.Type != NumberDataViewType.Int64)))
            {
                throw new ArgumentException(
                    $"The view has a column '{name}' ({existing.Type}), a name the saved chain gives its ONNX graph's own {(name is PixelsOutput or RgbOutput ? "output" : "input")}: " +
                    "it would be replaced in the saved model's output. Rename it (CopyColumns, then DropColumns) before the editing stage to save the chain.", nameof(inputSchema));
            }
        }

        var ml = new MLContext();
        var maskChannels = bound.Mask is { Type: VectorDataViewType mask } ? mask.Dimensions[0] : 1;
        SaveChain(ctx, model.ToOnnx(options, maskChannels, rgbForGray: true, labelInput: bound.Label is not null),
            file => Build(ml, model, file, columns).Fit(Empty(ml, bound)));
    }

    // An empty view with the bound columns' names and the types the saved chain reads (int64 seeds and labels, the image and mask vectors).
    private static IDataView Empty(MLContext ml, GenerationColumns bound)
    {
        var definition = SchemaDefinition.Create(typeof(EditingRow));
        foreach (var (member, column) in new[] { (nameof(EditingRow.Seed), (DataViewSchema.Column?)bound.Seed), (nameof(EditingRow.Label), bound.Label),
            (nameof(EditingRow.Image), bound.Image), (nameof(EditingRow.Mask), bound.Mask) })
        {
            var entry = definition.First(c => c.MemberName == member);
            if (column is { } found)
            {
                entry.ColumnName = found.Name;
                if (found.Type is VectorDataViewType)
                {
                    entry.ColumnType = found.Type;
                }
            }
            else
            {
                definition.Remove(entry);
            }
        }

        return ml.Data.LoadFromEnumerable(Array.Empty<EditingRow>(), definition);
    }

    private sealed class EditingRow
    {
        public long Seed { get; set; }

        public long Label { get; set; }

        public float[] Image { get; set; } = [];

        public float[] Mask { get; set; } = [];
    }

    // The columns a chain reads (seed, label, image, mask: null when absent) and writes (pixels, image).
    private sealed record Columns(string Seed, string? Label, string? Image, string? Mask, string Pixels, string Output);
}
