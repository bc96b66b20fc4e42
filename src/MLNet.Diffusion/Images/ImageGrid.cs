using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Images;

/// <summary>
/// Turns batches of images in model space — tensors [N, C, H, W] with values in [−1, 1] — into 8-bit
/// <see cref="Image"/>s, and lays images out in one grid image, as sample sheets are shown during training.
/// </summary>
/// <remarks>
/// A value x becomes the byte <see cref="PixelEncoding.ModelSpace"/>'s <see cref="PixelEncoding.ToPixel"/> gives it —
/// x · 127.5 + 127.5 in float32, halves to even, clamped: −1 → 0, 0 → 128, 1 → 255 — the byte the generator graph and
/// <c>DiffusionModel.ConvertToImages</c> give a model-space value, so grids and generated images agree.
/// The grid puts <c>padding</c> pixels between cells and around the edge, as torchvision's <c>make_grid</c> does,
/// but fills them with white by default rather than black: Fashion-MNIST and most generated samples have dark
/// backgrounds, on which black separators vanish.
/// </remarks>
public static class ImageGrid
{
    /// <summary>The default number of images per row.</summary>
    public const int DefaultColumns = 8;

    /// <summary>The default number of pixels between cells and around the edge.</summary>
    public const int DefaultPadding = 2;

    /// <summary>The default value of padding pixels, in every color channel: white. Alpha channels are padded opaque.</summary>
    public const byte DefaultPaddingValue = 255;

    /// <summary>The side below which a grid's images are shown enlarged: smaller ones are hard to see at 1×.</summary>
    public const int SmallImageSize = 64;

    /// <summary>The enlargement a grid of <paramref name="imageSize"/>-pixel images gets by default: 2 below <see cref="SmallImageSize"/>, else 1.</summary>
    /// <param name="imageSize">The images' side in pixels.</param>
    public static int DefaultScale(int imageSize) => imageSize < SmallImageSize ? 2 : 1;

    /// <summary>
    /// <paramref name="image"/> enlarged <paramref name="factor"/> times by nearest neighbour (each pixel becomes a
    /// factor × factor block), so that no value is invented; factor 1 returns the image itself.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="factor">The enlargement, 1 to 16.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is outside 1 to 16.</exception>
    public static Image Upscale(Image image, int factor)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(factor, 16);
        if (factor == 1)
        {
            return image;
        }

        var result = new Image(image.Width * factor, image.Height * factor, image.Channels);
        var source = image.Pixels;
        var target = result.Pixels;
        var channels = image.Channels;
        for (var y = 0; y < result.Height; y++)
        {
            for (var x = 0; x < result.Width; x++)
            {
                source.Slice((((y / factor) * image.Width) + (x / factor)) * channels, channels)
                    .CopyTo(target.Slice(((y * result.Width) + x) * channels, channels));
            }
        }

        return result;
    }

    /// <summary>Converts a batch [N, C, H, W] (C = 1 gray or 3 RGB) with values in [−1, 1] to N 8-bit images.</summary>
    /// <param name="batch">A floating-point tensor on any device; values outside [−1, 1] are clamped.</param>
    /// <exception cref="ArgumentException">The tensor is not floating-point [N, C, H, W] with C = 1 or 3, or holds NaN.</exception>
    public static Image[] ToImages(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var shape = batch.shape;
        if (shape.Length != 4 || shape[1] is not (1 or 3) || shape[2] < 1 || shape[3] < 1 || !batch.dtype.IsFloatingPoint())
        {
            throw new ArgumentException(
                $"Expected a floating-point batch [N, C, H, W] with C = 1 (gray) or 3 (RGB) and values in [-1, 1]; got [{string.Join(", ", shape)}] {batch.dtype.Name()}.",
                nameof(batch));
        }

        var (count, channels, height, width) = ((int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);
        Image.Validate(width, height, channels);
        float[] values;
        using (var scope = torch.NewDisposeScope())
        {
            values = batch.detach().to(torch.CPU).to(ScalarType.Float32).contiguous().data<float>().ToArray();
        }

        var encoding = PixelEncoding.ModelSpace(channels);
        var images = new Image[count];
        var plane = height * width;
        for (var n = 0; n < count; n++)
        {
            var image = new Image(width, height, channels);
            var pixels = image.Pixels;
            var start = n * channels * plane;
            for (var c = 0; c < channels; c++)
            {
                var offset = start + (c * plane);
                for (var i = 0; i < plane; i++)
                {
                    var value = values[offset + i];
                    pixels[(i * channels) + c] = float.IsNaN(value)
                        ? throw new ArgumentException("The images hold NaN values (did sampling diverge?).", nameof(batch))
                        : encoding.ToPixel(value);
                }
            }

            images[n] = image;
        }

        return images;
    }

    /// <summary>
    /// Lays <paramref name="images"/> out row by row, <paramref name="columns"/> to a row (fewer when there are fewer images),
    /// with <paramref name="padding"/> pixels between cells and around the edge. Empty cells of the last row are padding.
    /// </summary>
    /// <param name="images">At least one image; all of the same size and channel count.</param>
    /// <param name="columns">Images per row, at least 1.</param>
    /// <param name="padding">Pixels between cells and around the edge, 0 or more.</param>
    /// <param name="paddingValue">The value of padding pixels in every color channel (alpha is padded with 255).</param>
    /// <exception cref="ArgumentException">No images, images of different sizes or channel counts, or bad sizes.</exception>
    public static Image Compose(IReadOnlyList<Image> images, int columns = DefaultColumns, int padding = DefaultPadding, byte paddingValue = DefaultPaddingValue)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (images.Count == 0)
        {
            throw new ArgumentException("A grid needs at least one image.", nameof(images));
        }

        var first = images[0] ?? throw new ArgumentException("Image 0 is null.", nameof(images));
        for (var i = 1; i < images.Count; i++)
        {
            var image = images[i] ?? throw new ArgumentException($"Image {i} is null.", nameof(images));
            if (image.Width != first.Width || image.Height != first.Height || image.Channels != first.Channels)
            {
                throw new ArgumentException(
                    $"All images of a grid must match: image 0 is {first.Width}×{first.Height} with {first.Channels} channels, image {i} is {image.Width}×{image.Height} with {image.Channels}.",
                    nameof(images));
            }
        }

        var across = Math.Min(columns, images.Count);
        var down = (images.Count + across - 1) / across;
        var gridWidth = (long)across * (first.Width + padding) + padding;
        var gridHeight = (long)down * (first.Height + padding) + padding;
        if (gridWidth > int.MaxValue || gridHeight > int.MaxValue)
        {
            throw new ArgumentException($"A {across}×{down} grid of {first.Width}×{first.Height} images with padding {padding} is too large.", nameof(images));
        }

        var grid = new Image((int)gridWidth, (int)gridHeight, first.Channels);
        var channels = first.Channels;
        var gridPixels = grid.Pixels;
        for (var i = 0; i < gridPixels.Length; i++)
        {
            gridPixels[i] = first.HasAlpha && i % channels == channels - 1 ? byte.MaxValue : paddingValue;
        }

        for (var i = 0; i < images.Count; i++)
        {
            var (left, top) = (padding + (i % across * (first.Width + padding)), padding + (i / across * (first.Height + padding)));
            for (var y = 0; y < first.Height; y++)
            {
                images[i].GetRow(y).CopyTo(grid.GetRow(top + y)[(left * channels)..]);
            }
        }

        return grid;
    }

    /// <summary>Converts a batch [N, C, H, W] in [−1, 1] to images and lays them out in a grid.</summary>
    /// <param name="batch">A floating-point tensor [N, C, H, W] with N ≥ 1 and C = 1 or 3, as for <see cref="ToImages(Tensor)"/>.</param>
    /// <param name="columns">Images per row, at least 1.</param>
    /// <param name="padding">Pixels between cells and around the edge, 0 or more.</param>
    /// <param name="paddingValue">The value of padding pixels in every channel.</param>
    /// <exception cref="ArgumentException">The batch or a size is not accepted; the message says why.</exception>
    public static Image FromTensor(Tensor batch, int columns = DefaultColumns, int padding = DefaultPadding, byte paddingValue = DefaultPaddingValue) =>
        Compose(ToImages(batch), columns, padding, paddingValue);

    /// <summary>Writes a batch [N, C, H, W] in [−1, 1] as one PNG grid image, replacing <paramref name="path"/> atomically.</summary>
    /// <param name="batch">A floating-point tensor [N, C, H, W] with N ≥ 1 and C = 1 or 3, as for <see cref="ToImages(Tensor)"/>.</param>
    /// <param name="path">The PNG file to write.</param>
    /// <param name="columns">Images per row, at least 1.</param>
    /// <param name="padding">Pixels between cells and around the edge, 0 or more.</param>
    /// <param name="paddingValue">The value of padding pixels in every channel.</param>
    /// <exception cref="ArgumentException">The batch or a size is not accepted; the message says why.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void SaveGrid(Tensor batch, string path, int columns = DefaultColumns, int padding = DefaultPadding, byte paddingValue = DefaultPaddingValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ImageCodec.SavePng(FromTensor(batch, columns, padding, paddingValue), path);
    }
}
