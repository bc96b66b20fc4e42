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

    /// <summary>Writes <paramref name="model"/> into <paramref name="ctx"/> as the built-in chain.</summary>
    public static void Save(DiffusionModel model, ModelSaveContext ctx)
    {
        var ml = new MLContext();
        var bytes = model.ToOnnx(model.TransformOptions, rgbForGray: true);
        // ApplyOnnxModel(Stream) would leave a temporary file behind for good; a file of our own is deleted below.
        var file = Path.Combine(Path.GetTempPath(), $"mlnet-diffusion-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(file, bytes);
        ITransformer? chain = null;
        try
        {
            chain = Build(ml, model, file).Fit(EmptySeeds(ml, model));
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

    private static IEstimator<ITransformer> Build(MLContext ml, DiffusionModel model, string onnxFile)
    {
        var conditional = model.Config.NumClasses is not null;
        var gray = model.Config.InChannels == 1;
        var temporary = new List<string>();
        IEstimator<ITransformer> chain = ml.Transforms.Conversion.ConvertType(SeedInput, model.SeedColumnName, DataKind.Int64);
        temporary.Add(SeedInput);
        string[] inputs = [SeedInput];
        if (conditional)
        {
            chain = chain.Append(ml.Transforms.Conversion.ConvertType(LabelInput, model.LabelColumnName, DataKind.Int64));
            temporary.Add(LabelInput);

            // The class column of the live model: MapValue with its values as keys numbers them in the order given (key c + 1 is
            // class c, a label it does not know, the unconditional −1, is the missing key 0) and records the names as key values.
            var names = model.ClassNames ?? [.. Enumerable.Range(0, model.Config.NumClasses!.Value).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
            chain = chain.Append(ml.Transforms.Conversion.MapValue(model.ClassNameColumnName,
                names.Select((name, c) => new KeyValuePair<long, ReadOnlyMemory<char>>(c, name.AsMemory())), LabelInput, treatValuesAsKeyType: true));
            inputs = [SeedInput, LabelInput];
        }

        string[] outputs = gray ? [PixelsOutput, RgbOutput] : [PixelsOutput];
        temporary.AddRange(outputs);
        chain = chain.Append(ml.Transforms.ApplyOnnxModel(outputs, inputs, onnxFile));
        if (model.PixelsColumnName != PixelsOutput)
        {
            chain = chain.Append(ml.Transforms.CopyColumns(model.PixelsColumnName, PixelsOutput));
        }

        var size = model.Config.ImageSize;
        // Default scale and offset: the graph already rounded and clamped to 0–255, and alpha is the default 255.
        chain = chain.Append(ml.Transforms.ConvertToImage(size, size, model.ImageColumnName, gray ? RgbOutput : PixelsOutput));
        var user = new HashSet<string>([model.SeedColumnName, model.LabelColumnName, model.PixelsColumnName, model.ImageColumnName, model.ClassNameColumnName]);
        var drop = temporary.Where(c => !user.Contains(c)).ToArray();
        return drop.Length == 0 ? chain : chain.Append(ml.Transforms.DropColumns(drop));
    }
}
