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
/// Saving with <c>mlContext.Model.Save</c> is not supported yet (the editing graphs for ONNX Runtime are not written): save the
/// <see cref="DiffusionModel"/> and build the transformer again after loading it with <c>mlContext.Diffusion().LoadModel</c>.
/// </remarks>
public sealed class ImageEditingTransformer : ITransformer
{
    internal ImageEditingTransformer(DiffusionModel model, ImageEditingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        if (!(options.Strength is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Strength, "Strength is the share of the sampler's steps that run: 0 (the image) to 1 (a new image).");
        }

        if (options.MaskColumnName is not null)
        {
            DiffusionModel.CheckInpaintSampler(options.Sampling, options.RePaint, nameof(options));
        }

        (Model, Options) = (model, options);
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

    /// <summary>Not supported yet: see the remarks.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        "An ImageEditingTransformer cannot be saved yet: its ONNX graph (with image and mask inputs) is not written. Save the DiffusionModel " +
        "(model.Save(path)) and, after mlContext.Diffusion().LoadModel(path), build the transformer again with mlContext.Diffusion().Edit or Inpaint.");
}

/// <summary>
/// The estimator of an <see cref="ImageEditingTransformer"/>: it learns nothing, so <see cref="Fit"/> checks the schema and returns the
/// transformer; it lets editing stand in a pipeline after <c>LoadImages</c>, <c>ResizeImages</c> and <c>ExtractPixels</c>.
/// </summary>
public sealed class ImageEditingEstimator : IEstimator<ImageEditingTransformer>
{
    private readonly ImageEditingTransformer _transformer;

    internal ImageEditingEstimator(DiffusionModel model, ImageEditingOptions options) => _transformer = new ImageEditingTransformer(model, options);

    /// <summary>The transformer, after checking <paramref name="input"/>'s schema.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type.</exception>
    public ImageEditingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = _transformer.GetOutputSchema(input.Schema);
        return _transformer;
    }

    /// <summary>The input's shape: the columns the transformer adds are known only from a full schema (ML.NET does not let a library build a <see cref="SchemaShape"/>).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => inputSchema ?? throw new ArgumentNullException(nameof(inputSchema));
}
