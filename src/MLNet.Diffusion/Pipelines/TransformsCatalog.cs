using MLNet.Diffusion.Data;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// The image transforms, with ML.NET's names, parameter names and order (<c>outputColumnName</c> first; the input column
/// defaults to it). Each gives an estimator with nothing to learn; its transformer works row by row, lazily.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Catalog methods are instance methods, as in ML.NET: context.Transforms.LoadImages(...).")]
public sealed class TransformsCatalog
{
    internal TransformsCatalog()
    {
    }

    /// <summary>Decodes the PNG or JPEG file named by each row's <paramref name="inputColumnName"/> (a path relative to <paramref name="imageFolder"/>).</summary>
    /// <param name="outputColumnName">The image column made.</param>
    /// <param name="imageFolder">The folder the paths are relative to.</param>
    /// <param name="inputColumnName">The text column of paths; defaults to <paramref name="outputColumnName"/>.</param>
    public IEstimator<ITransformer> LoadImages(string outputColumnName, string imageFolder, string? inputColumnName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentNullException.ThrowIfNull(imageFolder);
        return new TrivialEstimator(new ImageLoadingTransformer(outputColumnName, imageFolder, inputColumnName ?? outputColumnName));
    }

    /// <summary>Resizes every image to <paramref name="imageWidth"/> × <paramref name="imageHeight"/> (bilinear), keeping its channels.</summary>
    /// <param name="outputColumnName">The image column made.</param>
    /// <param name="imageWidth">The width, in pixels.</param>
    /// <param name="imageHeight">The height, in pixels.</param>
    /// <param name="inputColumnName">The image column read; defaults to <paramref name="outputColumnName"/>.</param>
    /// <param name="resizing">Fill stretches; IsoCrop (the default, as in ML.NET) scales to cover and crops the center; IsoPad scales to fit and pads with black.</param>
    public IEstimator<ITransformer> ResizeImages(string outputColumnName, int imageWidth, int imageHeight, string? inputColumnName = null,
        ImageResizeMode resizing = ImageResizeMode.IsoCrop)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        if (!Enum.IsDefined(resizing))
        {
            throw new ArgumentOutOfRangeException(nameof(resizing), resizing, "Resizing must be Fill, IsoCrop or IsoPad.");
        }

        return new TrivialEstimator(new ImageResizingTransformer(outputColumnName, imageWidth, imageHeight, inputColumnName ?? outputColumnName, resizing));
    }

    /// <summary>
    /// Turns images of one known size into float vectors, value = (pixel − <paramref name="offsetImage"/>) × <paramref name="scaleImage"/>
    /// as in ML.NET; alpha is composited onto black. Diffusion trains on [−1, 1]: <c>offsetImage: 127.5f, scaleImage: 1 / 127.5f</c>.
    /// </summary>
    /// <param name="outputColumnName">The vector column made: [C, H, W], or [H, W, C] when interleaved.</param>
    /// <param name="inputColumnName">The image column read; defaults to <paramref name="outputColumnName"/>. Its images must have one known size (ResizeImages first).</param>
    /// <param name="colorsToExtract">Rgb (3 channels, the default) or Gray (1 channel, luma).</param>
    /// <param name="interleavePixelColors">Interleave the colors of each pixel ([H, W, C]) instead of planes ([C, H, W], the default, which training needs).</param>
    /// <param name="offsetImage">Subtracted from each 0–255 value first. Default 0.</param>
    /// <param name="scaleImage">Multiplies the difference second; finite, not 0. Default 1.</param>
    public IEstimator<ITransformer> ExtractPixels(string outputColumnName, string? inputColumnName = null, PixelColors colorsToExtract = PixelColors.Rgb,
        bool interleavePixelColors = false, float offsetImage = 0f, float scaleImage = 1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        CheckScaling(offsetImage, scaleImage);
        CheckColors(colorsToExtract, nameof(colorsToExtract));
        return new TrivialEstimator(new PixelExtractingTransformer(outputColumnName, inputColumnName ?? outputColumnName, colorsToExtract, interleavePixelColors, offsetImage, scaleImage));
    }

    /// <summary>
    /// Turns float vectors back into images. With <paramref name="scaleImage"/> or <paramref name="offsetImage"/> given, pixel =
    /// round(value × scale − offset) as in ML.NET; with neither, the inverse of the column's own encoding (from ExtractPixels or a
    /// model), so that values map back to the pixels they came from. Pixels are clamped to 0–255 (ML.NET wraps them).
    /// </summary>
    /// <param name="imageHeight">The height, in pixels.</param>
    /// <param name="imageWidth">The width, in pixels.</param>
    /// <param name="outputColumnName">The image column made.</param>
    /// <param name="inputColumnName">The vector column read; defaults to <paramref name="outputColumnName"/>.</param>
    /// <param name="colorsPresent">Rgb (3 channels, the default) or Gray (1).</param>
    /// <param name="interleavedColors">Whether the vectors are [H, W, C] rather than [C, H, W].</param>
    /// <param name="scaleImage">Multiplies each value first; null: see above.</param>
    /// <param name="offsetImage">Subtracted second; null: see above.</param>
    public IEstimator<ITransformer> ConvertToImage(int imageHeight, int imageWidth, string outputColumnName, string? inputColumnName = null,
        PixelColors colorsPresent = PixelColors.Rgb, bool interleavedColors = false, float? scaleImage = null, float? offsetImage = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        CheckScaling(offsetImage ?? 0, scaleImage ?? 1);
        CheckColors(colorsPresent, nameof(colorsPresent));
        return new TrivialEstimator(new VectorToImageTransformer(imageHeight, imageWidth, outputColumnName, inputColumnName ?? outputColumnName, colorsPresent,
            interleavedColors, scaleImage, offsetImage));
    }

    private static void CheckScaling(float offsetImage, float scaleImage)
    {
        if (!float.IsFinite(offsetImage))
        {
            throw new ArgumentOutOfRangeException(nameof(offsetImage), offsetImage, "The offset must be a finite number.");
        }

        if (!float.IsFinite(scaleImage) || scaleImage == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(scaleImage), scaleImage, "The scale must be a finite number other than 0.");
        }
    }

    private static void CheckColors(PixelColors colors, string name)
    {
        if (!Enum.IsDefined(colors))
        {
            throw new ArgumentOutOfRangeException(name, colors, "Colors must be Rgb or Gray.");
        }
    }
}
