namespace MLNet.Diffusion.Training;

/// <summary>
/// What a <see cref="TrainingReport"/> says beyond the run's own record (losses, learning rates, grids, options, timings):
/// what the run trained on, where its model went, its final labelled samples and what to do next. Every part is optional.
/// </summary>
public sealed record TrainingReportDetails
{
    /// <summary>The page's title and heading. Default "MLNet.Diffusion training report".</summary>
    public string Title { get; init; } = "MLNet.Diffusion training report";

    /// <summary>The training data in a line, e.g. "image folder 'icons' (88 images, 16 px, 3 classes)"; null: not shown.</summary>
    public string? Dataset { get; init; }

    /// <summary>Where the trained model was (or will be) written; null: not shown.</summary>
    public string? ModelPath { get; init; }

    /// <summary>
    /// A PNG grid of final samples to show first (e.g. one row per class, as <c>ImageGrid.SaveGrid</c> writes it with its
    /// default padding, possibly enlarged by a whole factor); null: the run's last checkpoint grid, or a grid sampled from the run's moving average.
    /// </summary>
    public string? FinalGrid { get; init; }

    /// <summary>What <see cref="FinalGrid"/> shows, e.g. its sampler and guidance; null: "final samples" and its file name.</summary>
    public string? FinalGridCaption { get; init; }

    /// <summary>The label of each row of <see cref="FinalGrid"/> (e.g. class names), top first; null: rows unlabelled.</summary>
    public IReadOnlyList<string>? FinalGridRows { get; init; }

    /// <summary>Commands or code to run next (each shown as one block), e.g. the generate command for the model written.</summary>
    public IReadOnlyList<string> NextSteps { get; init; } = [];
}
