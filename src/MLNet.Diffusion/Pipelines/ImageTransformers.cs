using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Data;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>LoadImages: a text column of paths (relative to a folder) to an image column, decoding each image when its row is read.</summary>
internal sealed class ImageLoadingTransformer(string outputColumnName, string imageFolder, string inputColumnName)
    : RowTransformer(outputColumnName, inputColumnName)
{
    protected override string Expected => "text: image paths";

    protected override ColumnType OutputType(DataViewColumn input) =>
        input.Type.Kind == ColumnKind.Text ? ColumnType.Image() : throw SchemaCheck.Mismatch(input.Name, "Text (image paths)", input.Type);

    protected override object Map(object value, ColumnType inputType, long position) => ImageCodec.Load(Path.Combine(imageFolder, (string)value));
}

/// <summary>ResizeImages: every image to one width and height, by <see cref="ImageResizeMode"/>, keeping its channels.</summary>
internal sealed class ImageResizingTransformer(string outputColumnName, int width, int height, string inputColumnName, ImageResizeMode resizing)
    : RowTransformer(outputColumnName, inputColumnName)
{
    protected override string Expected => "images";

    protected override ColumnType OutputType(DataViewColumn input) =>
        input.Type.Kind == ColumnKind.Image ? ColumnType.Image(width, height, input.Type.Channels, resizing) : throw SchemaCheck.Mismatch(input.Name, "Image", input.Type);

    protected override object Map(object value, ColumnType inputType, long position)
    {
        var image = (Image)value;
        if (image.Width == width && image.Height == height)
        {
            return image;
        }

        // Interpolated in float on 0–255 values, then rounded and clamped back to bytes; padding is black (and transparent).
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var input = TensorBytes.FromBytes(image.Pixels, ScalarType.Byte, [image.Height, image.Width, image.Channels])
            .to(ScalarType.Float32).permute(2, 0, 1).unsqueeze(0);
        var resized = ImageResize.Apply(input, width, height, resizing, padValue: 0);
        var bytes = resized.squeeze(0).permute(1, 2, 0).round().clamp(0, 255).to(ScalarType.Byte).contiguous().data<byte>().ToArray();
        return Image.Wrap(width, height, image.Channels, bytes);
    }
}

/// <summary>ExtractPixels: images of a known size to float vectors, value = (pixel − offset) × scale, as ML.NET computes it.</summary>
internal sealed class PixelExtractingTransformer(string outputColumnName, string inputColumnName, PixelColors colors, bool interleave, float offset, float scale)
    : RowTransformer(outputColumnName, inputColumnName)
{
    private int Channels => colors == PixelColors.Gray ? 1 : 3;

    protected override string Expected => "images of one size";

    protected override ColumnType OutputType(DataViewColumn input)
    {
        var type = input.Type;
        if (type.Kind != ColumnKind.Image)
        {
            throw SchemaCheck.Mismatch(input.Name, "Image", type);
        }

        if (type.Width is not { } width || type.Height is not { } height)
        {
            throw SchemaCheck.Mismatch(input.Name, "images of one known size", type, "Resize them first with ResizeImages.");
        }

        int[] dimensions = interleave ? [height, width, Channels] : [Channels, height, width];
        return ColumnType.Vector(dimensions, new PixelEncoding(colors, offset, scale, interleave, type.Resizing));
    }

    protected override object Map(object value, ColumnType inputType, long position)
    {
        var image = (Image)value;
        if (image.Width != inputType.Width || image.Height != inputType.Height)
        {
            throw new InvalidDataException($"Row {position}: the image is {image.Width}×{image.Height}, not the {inputType.Width}×{inputType.Height} of its column's type.");
        }

        var values = ImagePixels.Composite(image, Channels);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (values[i] - offset) * scale;
        }

        return interleave ? ImagePixels.Interleave(values, Channels) : values;
    }
}

/// <summary>
/// ConvertToImage: float vectors back to images. With an explicit scale and offset, pixel = round(value × scale − offset) as in
/// ML.NET; without, the inverse of the column's <see cref="PixelEncoding"/>. Clamped to 0–255 where ML.NET wraps.
/// </summary>
internal sealed class VectorToImageTransformer(int height, int width, string outputColumnName, string inputColumnName, PixelColors colors,
    bool interleaved, float? scale, float? offset) : RowTransformer(outputColumnName, inputColumnName)
{
    private int Channels => colors == PixelColors.Gray ? 1 : 3;

    protected override string Expected => "float vectors";

    protected override ColumnType OutputType(DataViewColumn input)
    {
        var size = (long)height * width * Channels;
        if (input.Type.Kind != ColumnKind.Vector || (input.Type.Dimensions is { } dims && dims.Aggregate(1L, (p, d) => p * d) != size))
        {
            throw SchemaCheck.Mismatch(input.Name, $"a float vector of {Channels}×{height}×{width} = {size} values", input.Type);
        }

        return ColumnType.Image(width, height, Channels);
    }

    protected override object Map(object value, ColumnType inputType, long position)
    {
        var values = (float[])value;
        if (values.Length != height * width * Channels)
        {
            throw new InvalidDataException($"Row {position}: the vector has {values.Length} values, not the {Channels}×{height}×{width} of an image.");
        }

        Func<float, byte> toPixel;
        if (scale is null && offset is null && inputType.Encoding is { } encoding)
        {
            toPixel = encoding.ToPixel;
        }
        else
        {
            var (s, o) = (scale ?? 1f, offset ?? 0f);
            toPixel = v => (byte)Math.Clamp(double.IsNaN(v) ? 0 : Math.Round(((double)v * s) - o, MidpointRounding.AwayFromZero), 0, 255);
        }

        return ImagePixels.ToImage(values, width, height, Channels, toPixel, interleaved);
    }
}
