using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Data;

/// <summary>
/// Resizing as <see cref="ImageResizeMode"/> describes it, on a float tensor [1, C, H, W]: bilinear interpolation
/// (align_corners false), then a center crop or a centered pad. Shared by the image-folder training data and the
/// ResizeImages transform.
/// </summary>
internal static class ImageResize
{
    /// <summary><paramref name="input"/> [1, C, H, W] resized to [1, C, <paramref name="height"/>, <paramref name="width"/>]; padding is <paramref name="padValue"/>.</summary>
    public static Tensor Apply(Tensor input, int width, int height, ImageResizeMode mode, double padValue)
    {
        var (sourceHeight, sourceWidth) = (input.size(2), input.size(3));
        var (scaledHeight, scaledWidth) = ScaledSize(sourceWidth, sourceHeight, width, height, mode);
        var resized = scaledHeight == sourceHeight && scaledWidth == sourceWidth
            ? input
            : nn.functional.interpolate(input, size: [scaledHeight, scaledWidth], mode: InterpolationMode.Bilinear, align_corners: false);
        return mode switch
        {
            ImageResizeMode.IsoCrop => resized.narrow(2, (scaledHeight - height) / 2, height).narrow(3, (scaledWidth - width) / 2, width),
            ImageResizeMode.IsoPad when scaledHeight != height || scaledWidth != width => Pad(resized, width, height, padValue),
            _ => resized,
        };
    }

    private static Tensor Pad(Tensor resized, int width, int height, double padValue)
    {
        var (scaledHeight, scaledWidth) = (resized.size(2), resized.size(3));
        var canvas = torch.full([1, resized.size(1), height, width], padValue);
        canvas.narrow(2, (height - scaledHeight) / 2, scaledHeight).narrow(3, (width - scaledWidth) / 2, scaledWidth).copy_(resized);
        return canvas;
    }

    /// <summary>The size to interpolate to before cropping or padding: (height, width).</summary>
    private static (long Height, long Width) ScaledSize(long sourceWidth, long sourceHeight, int width, int height, ImageResizeMode mode)
    {
        switch (mode)
        {
            case ImageResizeMode.IsoCrop:
            {
                // The image covers the target: each side at least the target's, so the crop always fits.
                var scale = Math.Max((double)width / sourceWidth, (double)height / sourceHeight);
                return (Math.Max(height, (long)Math.Round(sourceHeight * scale)), Math.Max(width, (long)Math.Round(sourceWidth * scale)));
            }

            case ImageResizeMode.IsoPad:
            {
                // The image fits inside the target: each side at least 1 pixel, at most the target's.
                var scale = Math.Min((double)width / sourceWidth, (double)height / sourceHeight);
                return (Math.Clamp((long)Math.Round(sourceHeight * scale), 1, height), Math.Clamp((long)Math.Round(sourceWidth * scale), 1, width));
            }

            default:
                return (height, width);
        }
    }
}
