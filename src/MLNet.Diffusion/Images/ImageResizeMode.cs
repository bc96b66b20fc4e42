namespace MLNet.Diffusion.Images;

/// <summary>How <c>mlContext.Diffusion().LoadImageFolder</c> brings an image of any size to the square training size.</summary>
/// <remarks>
/// The modes of ML.NET's <c>ImageResizingEstimator.ResizingKind</c> under the same names, resampled differently: ours
/// filter with a triangle whose width grows with the reduction (as PIL's and torchvision's antialiased resize), so every
/// source pixel counts; ML.NET's <c>ResizeImages</c> draws through Skia, nearest neighbour for <c>Fill</c> and Skia's high
/// filter quality for <c>IsoCrop</c> and <c>IsoPad</c> (docs/images.md).
/// </remarks>
public enum ImageResizeMode
{
    /// <summary>Stretches the image to the square, changing its aspect ratio when it is not square.</summary>
    Fill,

    /// <summary>Keeps the aspect ratio: scales the short side to the training size and crops the long side around the center.</summary>
    IsoCrop,

    /// <summary>Keeps the aspect ratio: scales the long side to the training size and pads the short side with black around the center.</summary>
    IsoPad,
}
