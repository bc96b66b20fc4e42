namespace MLNet.Diffusion.Images;

/// <summary>Pixel conversions shared by the image-folder training data, ExtractPixels and ConvertToImage.</summary>
internal static class ImagePixels
{
    /// <summary>
    /// The image as planar [C, H, W] floats 0–255 with <paramref name="channels"/> channels: RGB to gray by the luma weights
    /// 0.299, 0.587, 0.114; gray to RGB by repeating it; alpha composited onto black (the color scaled by its opacity).
    /// </summary>
    public static float[] Composite(Image image, int channels)
    {
        var plane = image.Width * image.Height;
        var result = new float[plane * channels];
        var source = image.Pixels;
        var stride = image.Channels;
        var colored = image.Channels >= 3;
        for (var p = 0; p < plane; p++)
        {
            var at = p * stride;
            var opacity = image.HasAlpha ? source[at + stride - 1] / 255f : 1f;
            float r = source[at], g = colored ? source[at + 1] : r, b = colored ? source[at + 2] : r;
            if (channels == 1)
            {
                result[p] = ((0.299f * r) + (0.587f * g) + (0.114f * b)) * opacity;
            }
            else
            {
                result[p] = r * opacity;
                result[plane + p] = g * opacity;
                result[(2 * plane) + p] = b * opacity;
            }
        }

        return result;
    }

    /// <summary>A <paramref name="width"/> × <paramref name="height"/> image from planar [C, H, W] values, each mapped by <paramref name="toPixel"/>.</summary>
    public static Image ToImage(ReadOnlySpan<float> values, int width, int height, int channels, Func<float, byte> toPixel)
    {
        var image = new Image(width, height, channels);
        var pixels = image.Pixels;
        var plane = width * height;
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < channels; c++)
            {
                pixels[(p * channels) + c] = toPixel(values[(c * plane) + p]);
            }
        }

        return image;
    }
}
