namespace MLNet.Diffusion;

/// <summary>
/// What an <see cref="ImageEditingTransformer"/> does to a view of images: image-to-image (no <see cref="MaskColumnName"/>)
/// or inpainting (with one), the columns it reads and writes, and the sampling. docs/editing.md describes the methods.
/// </summary>
public sealed record ImageEditingOptions
{
    /// <summary>
    /// The <c>MLImage</c> column of the results; their planar 0–255 values go to <see cref="OutputColumnName"/> + "Pixels"
    /// (Single [C, S, S]), as a generated image's do. Default "Edited".
    /// </summary>
    public string OutputColumnName { get; init; } = "Edited";

    /// <summary>The images: Single [C, S, S] of the model's channels and size, in its pixel encoding (what ExtractPixels gave for training). Default "Pixels".</summary>
    public string InputColumnName { get; init; } = "Pixels";

    /// <summary>One seed per row (an integer ≥ 0): it decides x_T and any noise, so one seed gives one result. Default "Seed".</summary>
    public string SeedColumnName { get; init; } = "Seed";

    /// <summary>Class labels for a class-conditional model (a key, integers or class names), read when the view has the column. Default "Label".</summary>
    public string LabelColumnName { get; init; } = "Label";

    /// <summary>
    /// Inpainting's mask: Single [1, S, S] or [C, S, S] holding only 0 and 1, or 0 and 255 (what ExtractPixels makes of a black-and-white
    /// image): 1 or 255 keeps a pixel, 0 generates it. Null (the default): image-to-image.
    /// </summary>
    public string? MaskColumnName { get; init; }

    /// <summary>Image-to-image's strength: the share of the sampler's steps that run, 0 (the image) to 1 (a new image). Default 0.6.</summary>
    public double Strength { get; init; } = 0.6;

    /// <summary>Inpainting by RePaint (DDPM steps and jumps); null (the default): deterministic inpainting with <see cref="Sampling"/>'s sampler.</summary>
    public RePaintOptions? RePaint { get; init; }

    /// <summary>The sampler, steps and guidance (its seed and labels are the rows'). Default: DPM-Solver++ at its usual steps, no guidance.</summary>
    public GenerationOptions Sampling { get; init; } = new();

    /// <summary>Rows per sampling run, ≥ 1: a row's result does not depend on it. Default 16.</summary>
    public int BatchSize { get; init; } = 16;
}
