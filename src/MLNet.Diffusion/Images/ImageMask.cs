using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Images;

/// <summary>
/// Inpainting masks as images, in RePaint's convention: white (255) keeps the pixel, black (0) has it generated. Any other
/// value is refused, so that a mask saved with antialiasing or as a JPEG is not read as something it is not.
/// </summary>
public static class ImageMask
{
    /// <summary>
    /// The mask image as keep-flags [1, 1, <paramref name="size"/>, <paramref name="size"/>] of 0 and 1 (float32): converted to gray,
    /// checked to hold only 0 and 255, then resized as the images are (<paramref name="resizing"/>); after resizing a pixel is kept only
    /// where the mask was white all around it (a resampled value of 255), so a resized mask never keeps a pixel it did not cover.
    /// Padding (<see cref="ImageResizeMode.IsoPad"/>) is generated.
    /// </summary>
    /// <param name="mask">The mask image, any size and channels (alpha is composited onto black).</param>
    /// <param name="size">The model's image size.</param>
    /// <param name="resizing">How the images it goes with are resized to <paramref name="size"/>.</param>
    /// <param name="source">Where the mask came from, for messages.</param>
    /// <exception cref="InvalidDataException">A pixel is neither black nor white; the message names the first and its value.</exception>
    public static Tensor FromImage(Image mask, int size, ImageResizeMode resizing = ImageResizeMode.IsoCrop, string source = "the mask")
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var gray = ImagePixels.Composite(mask, 1);
        for (var i = 0; i < gray.Length; i++)
        {
            var value = MathF.Round(gray[i]);
            if (value is not (0 or 255))
            {
                throw new InvalidDataException(
                    $"{source}: pixel ({i % mask.Width}, {i / mask.Width}) is {value}; a mask holds only black (0: generate) and white (255: keep).");
            }

            gray[i] = value / 255;
        }

        using var scope = torch.NewDisposeScope();
        var flags = torch.tensor(gray, [1, 1, mask.Height, mask.Width]);
        var resized = ImageResize.Apply(flags, size, size, resizing, padValue: 0.0);
        return scope.MoveToOuter(resized.ge(1 - 1e-6).to(ScalarType.Float32).contiguous());
    }
}
