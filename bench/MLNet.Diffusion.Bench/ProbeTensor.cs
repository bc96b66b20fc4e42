using static TorchSharp.torch;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// A tensor our probe computed, compared element by element with PyTorch's tensor of the same name: the largest
/// absolute difference divided by <see cref="Scale"/> must be at most <see cref="Tolerance"/>.
/// </summary>
/// <param name="Name">The name both sides write it under (after the workload's prefix).</param>
/// <param name="Label">What it is, for the report.</param>
/// <param name="Value">Our tensor; owned by the workload.</param>
/// <param name="Scale">What the difference is measured against: null for the largest magnitude of PyTorch's tensor.</param>
/// <param name="ScaleMeaning">Names <see cref="Scale"/> in the report.</param>
/// <param name="Tolerance">The largest accepted relative difference.</param>
/// <param name="Mask">
/// When set, a bool tensor of <see cref="Value"/>'s shape: only the elements where it is true are held to
/// <see cref="Tolerance"/> (the difference over all elements is reported as well); owned by the workload.
/// </param>
/// <param name="MaskMeaning">Says which elements <see cref="Mask"/> keeps, for the report.</param>
internal sealed record ProbeTensor(string Name, string Label, Tensor Value, double? Scale, string ScaleMeaning, double Tolerance,
    Tensor? Mask = null, string? MaskMeaning = null);
