using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Pipeline;

namespace MLNet.Diffusion;

/// <summary>
/// A <see cref="DiffusionModel"/> applied to a view of images (<c>mlContext.Diffusion().Edit</c> and <c>Inpaint</c>): each row's image,
/// seed, label and (for inpainting) mask become an edited or inpainted image in <see cref="ImageEditingOptions.OutputColumnName"/>
/// (an <c>MLImage</c>) and its 0–255 values in that name + "Pixels", computed lazily, <see cref="ImageEditingOptions.BatchSize"/>
/// rows at a time; a row's result does not depend on its batch. <c>PredictionEngine</c> works. The model is not owned: dispose it
/// after the transformer's last use.
/// </summary>
/// <remarks>
/// <c>mlContext.Model.Save</c> writes image-to-image and deterministic inpainting as ML.NET's built-in transformers around the editing
/// graph (<see cref="DiffusionModel.ToOnnx(ImageEditingOptions)"/>), bound to the columns of the view it was fitted on: the file loads in an app with Microsoft.ML, ImageAnalytics, OnnxTransformer and ONNX Runtime only, and gives the same
/// columns. The saved chain reads seeds and labels as Int32 or Int64, keeps a mask's pixel above 0.5 (1 and 255 keep, 0 generates) and
/// does not refuse other mask values. RePaint, whose jumps draw fresh noise, has no graph and is not saved.
/// </remarks>
public sealed class ImageEditingTransformer : ITransformer
{
    // The schema Fit saw: a saved chain reads its columns.
    private readonly DataViewSchema? _fittedSchema;

    internal ImageEditingTransformer(DiffusionModel model, ImageEditingOptions options, DataViewSchema? fittedSchema = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        Sampling.ImageEditing.CheckStrength(options.Strength, nameof(options));

        if (options.MaskColumnName is not null)
        {
            DiffusionModel.CheckInpaintSampler(options.Sampling, options.RePaint, nameof(options));
        }
        else
        {
            DiffusionModel.CheckEditSampler(options.Sampling, nameof(options));
        }

        (Model, Options, _fittedSchema) = (model, options, fittedSchema);
    }

    /// <summary>The model that edits.</summary>
    public DiffusionModel Model { get; }

    /// <summary>What it does, and the columns it reads and writes.</summary>
    public ImageEditingOptions Options { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema with the output image, its pixels and, for a class-conditional model given labels, the class column.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type; the message names it and the fix.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return GenerationColumns.BindEditing(Model, Options, inputSchema).OutputSchema;
    }

    /// <summary>The view of edited images (lazy).</summary>
    /// <exception cref="ArgumentException">As <see cref="GetOutputSchema"/>.</exception>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new GeneratedDataView(input, GenerationColumns.BindEditing(Model, Options, input.Schema), Options.BatchSize);
    }

    /// <summary>The row-by-row form of <see cref="Transform"/>, which ML.NET's <c>PredictionEngine</c> uses.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new GenerationRowMapper(GenerationColumns.BindEditing(Model, Options, inputSchema));
    }

    /// <summary>Saves the transformer as ML.NET's built-in transformers around its editing graph (see the remarks); <c>mlContext.Model.Save</c> calls this.</summary>
    /// <exception cref="NotSupportedException">The transformer inpaints with RePaint.</exception>
    /// <exception cref="InvalidOperationException">The transformer was not made by <see cref="ImageEditingEstimator.Fit"/>, so its columns are not known.</exception>
    /// <exception cref="ArgumentException">A column cannot be read by the saved chain; the message names it and the fix.</exception>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        if (Options.MaskColumnName is not null && Options.RePaint is not null)
        {
            throw new NotSupportedException(
                "RePaint cannot be saved as a model: its jumps draw fresh noise at every step, which no ONNX graph holds. Save a chain that inpaints " +
                "deterministically (Inpaint without RePaint, with DPM-Solver++ or DDIM at η = 0), or save the DiffusionModel (model.Save(path)) and build " +
                "the RePaint stage again after mlContext.Diffusion().LoadModel(path).");
        }

        var schema = _fittedSchema ?? throw new InvalidOperationException(
            "The editing transformer was not made by Fit, so the columns its saved chain reads are not known: Fit the estimator on the images first.");
        BuiltInTransformerChain.SaveEditing(Model, Options, schema, ctx);
    }
}

/// <summary>
/// The estimator of an <see cref="ImageEditingTransformer"/>: it learns nothing, so <see cref="Fit"/> checks the schema and returns the
/// transformer; it lets editing stand in a pipeline after <c>LoadImages</c>, <c>ResizeImages</c> and <c>ExtractPixels</c>.
/// </summary>
public sealed class ImageEditingEstimator : IEstimator<ImageEditingTransformer>
{
    private readonly ImageEditingTransformer _transformer;

    internal ImageEditingEstimator(DiffusionModel model, ImageEditingOptions options) => _transformer = new ImageEditingTransformer(model, options);

    /// <summary>The transformer for <paramref name="input"/>'s columns, after checking them (a saved chain reads these columns).</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type.</exception>
    public ImageEditingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = _transformer.GetOutputSchema(input.Schema);
        return new ImageEditingTransformer(_transformer.Model, _transformer.Options, input.Schema);
    }

    /// <summary>The input's shape: the columns the transformer adds are known only from a full schema (ML.NET does not let a library build a <see cref="SchemaShape"/>).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => inputSchema ?? throw new ArgumentNullException(nameof(inputSchema));
}
