using TorchSharp;

namespace MLNet.Diffusion.Images;

/// <summary>
/// One image file as training pixels: decoded, converted to the wanted channels, resized to a square and scaled to
/// [−1, 1]. The image-folder data view and the CLI read every image through this.
/// </summary>
internal static class ImageFolderPixels
{
    /// <summary>
    /// The image at <paramref name="path"/> as planar float pixels [<paramref name="channels"/>, <paramref name="size"/>,
    /// <paramref name="size"/>] in [−1, 1] (x / 127.5 − 1); padding (<see cref="ImageResizeMode.IsoPad"/>) is black, −1.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, corrupt, truncated or not an image; the message names it.</exception>
    public static float[] Load(string path, int size, int channels, ImageResizeMode mode)
    {
        var image = ImageCodec.Load(path);
        var pixels = ImagePixels.Composite(image, channels);
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = PixelEncoding.ToModelSpace(pixels[i]);
        }

        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(pixels, [1, channels, image.Height, image.Width]);
        return ImageResize.Apply(input, size, size, mode, padValue: -1.0).contiguous().data<float>().ToArray();
    }
}
