using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Images;

/// <summary>
/// Resizing as <see cref="ImageResizeMode"/> describes it, on a float tensor [1, C, H, W]: resampling with a triangle
/// (bilinear) filter, then a center crop or a centered pad. Shared by the image-folder training data and the ResizeImages
/// transform.
/// </summary>
/// <remarks>
/// Each axis is resampled on its own, as PIL's <c>Image.resize(..., BILINEAR)</c> and torchvision's
/// <c>resize(..., antialias=True)</c> do: an output pixel is the weighted mean of the input pixels under a triangle whose
/// half-width is one output pixel, measured in input pixels (the scale factor, at least 1), weights renormalised at the
/// edges. Enlarging, that is plain bilinear interpolation (PyTorch's align_corners false). Shrinking, the triangle widens
/// with the factor, so every input pixel counts: a 3× reduction averages 5 input pixels per output pixel, where bilinear
/// interpolation without such a prefilter reads at most 2 (at exactly 3×, 1 of every 3) and lets fine patterns alias.
/// Weights and sums are in double precision, so a solid color stays exactly that color.
/// </remarks>
internal static class ImageResize
{
    /// <summary><paramref name="input"/> [1, C, H, W] resized to [1, C, <paramref name="height"/>, <paramref name="width"/>]; padding is <paramref name="padValue"/>.</summary>
    public static Tensor Apply(Tensor input, int width, int height, ImageResizeMode mode, double padValue)
    {
        var (sourceHeight, sourceWidth) = (input.size(2), input.size(3));
        var (scaledHeight, scaledWidth) = ScaledSize(sourceWidth, sourceHeight, width, height, mode);
        var resized = scaledHeight == sourceHeight && scaledWidth == sourceWidth
            ? input
            : Resample(input, (int)scaledWidth, (int)scaledHeight);
        return mode switch
        {
            ImageResizeMode.IsoCrop => resized.narrow(2, (scaledHeight - height) / 2, height).narrow(3, (scaledWidth - width) / 2, width),
            ImageResizeMode.IsoPad when scaledHeight != height || scaledWidth != width => Pad(resized, width, height, padValue),
            _ => resized,
        };
    }

    /// <summary><paramref name="input"/> [1, C, H, W] resampled to [1, C, <paramref name="height"/>, <paramref name="width"/>] by the triangle filter.</summary>
    internal static Tensor Resample(Tensor input, int width, int height)
    {
        var (channels, sourceHeight, sourceWidth) = ((int)input.size(1), (int)input.size(2), (int)input.size(3));
        var source = input.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();

        // Rows first (each row's width changes), then columns; a pass of the same size is skipped.
        var rows = sourceWidth == width ? null : Weights(sourceWidth, width);
        var columns = sourceHeight == height ? null : Weights(sourceHeight, height);
        var widened = new double[channels * sourceHeight * width];
        for (var plane = 0; plane < channels * sourceHeight; plane++)
        {
            var (from, to) = (plane * sourceWidth, plane * width);
            for (var x = 0; x < width; x++)
            {
                if (rows is null)
                {
                    widened[to + x] = source[from + x];
                    continue;
                }

                var (first, weights) = rows[x];
                var sum = 0.0;
                for (var k = 0; k < weights.Length; k++)
                {
                    sum += weights[k] * source[from + first + k];
                }

                widened[to + x] = sum;
            }
        }

        var output = new float[channels * height * width];
        double[] identity = [1.0];
        for (var c = 0; c < channels; c++)
        {
            for (var y = 0; y < height; y++)
            {
                var to = ((c * height) + y) * width;
                var (first, weights) = columns is null ? (y, identity) : columns[y];
                for (var x = 0; x < width; x++)
                {
                    var sum = 0.0;
                    for (var k = 0; k < weights.Length; k++)
                    {
                        sum += weights[k] * widened[(((c * sourceHeight) + first + k) * width) + x];
                    }

                    output[to + x] = (float)sum;
                }
            }
        }

        return torch.tensor(output, [1, channels, height, width]).to(input.device);
    }

    /// <summary>
    /// For each of <paramref name="outputSize"/> pixels, the first input pixel it reads and the normalised weights of the
    /// pixels from there: a triangle of half-width max(1, input / output) input pixels around the output pixel's center.
    /// </summary>
    internal static (int First, double[] Weights)[] Weights(int inputSize, int outputSize)
    {
        var scale = (double)inputSize / outputSize;
        var support = Math.Max(1.0, scale);
        var result = new (int, double[])[outputSize];
        for (var i = 0; i < outputSize; i++)
        {
            var center = (i + 0.5) * scale;
            var first = Math.Max(0, (int)Math.Floor(center - support + 0.5));
            var last = Math.Min(inputSize - 1, (int)Math.Ceiling(center + support - 0.5));
            var weights = new double[last - first + 1];
            var total = 0.0;
            for (var j = first; j <= last; j++)
            {
                var w = Math.Max(0, 1 - (Math.Abs(j + 0.5 - center) / support));
                weights[j - first] = w;
                total += w;
            }

            for (var k = 0; k < weights.Length; k++)
            {
                weights[k] /= total;
            }

            result[i] = (first, weights);
        }

        return result;
    }

    private static Tensor Pad(Tensor resized, int width, int height, double padValue)
    {
        var (scaledHeight, scaledWidth) = (resized.size(2), resized.size(3));
        var canvas = torch.full([1, resized.size(1), height, width], padValue, dtype: resized.dtype, device: resized.device);
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
