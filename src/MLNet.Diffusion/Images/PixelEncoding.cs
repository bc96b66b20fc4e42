
namespace MLNet.Diffusion.Images;

/// <summary>
/// How a vector column's floats were made from 8-bit images (by <c>ExtractPixels</c>): value = (pixel − <see cref="OffsetImage"/>)
/// × <see cref="ScaleImage"/>, as ML.NET's ExtractPixels computes it, so that <see cref="ToPixel"/> maps values back to bytes.
/// Alpha is composited onto black before extraction.
/// </summary>
/// <param name="Colors">The colors extracted.</param>
/// <param name="OffsetImage">Subtracted from each 0–255 pixel value first.</param>
/// <param name="ScaleImage">Multiplies the difference second; never 0.</param>
/// <param name="Resizing">How the images were resized before extraction, when known.</param>
public sealed record PixelEncoding(PixelColors Colors, float OffsetImage, float ScaleImage, ImageResizeMode? Resizing = null)
{
    /// <summary>The model space of DDPM: 0–255 mapped to [−1, 1] by offset 127.5 and scale 1/127.5, planar.</summary>
    public static PixelEncoding ModelSpace(int channels) => new(channels == 1 ? PixelColors.Gray : PixelColors.Rgb, 127.5f, 1 / 127.5f);

    /// <summary>The float a pixel byte (0–255) becomes.</summary>
    public float ToValue(float pixel) => (pixel - OffsetImage) * ScaleImage;

    /// <summary>The byte a float maps back to: the inverse of <see cref="ToValue"/>, rounded (halves to even, in float32) and clamped to 0–255; NaN gives 0.</summary>
    public byte ToPixel(float value)
    {
        // In float32 and rounding half to even, as the ONNX generator's Div, Add and Round nodes compute it, so both
        // engines turn the same value into the same byte.
        var pixel = MathF.Round((value / ScaleImage) + OffsetImage, MidpointRounding.ToEven);
        return float.IsNaN(pixel) ? (byte)0 : (byte)Math.Clamp(pixel, 0, 255);
    }

    /// <summary>
    /// The byte of a whole-pixel value (0–255, what a generator graph outputs), rounded (halves to even) and clamped; a
    /// value that is not a number means sampling diverged, an <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is NaN.</exception>
    public static byte WholePixelToByte(float value) => float.IsNaN(value)
        ? throw new InvalidOperationException("The images hold NaN values (did sampling diverge?).")
        : (byte)Math.Clamp(MathF.Round(value), 0, 255);

    /// <summary>
    /// A pixel byte in DDPM's model space [−1, 1]: x / 127.5 − 1 in float32, the value every data view, Fashion-MNIST and
    /// the PyTorch reference train on. ML.NET's <c>ExtractPixels(offsetImage: 127.5f, scaleImage: 1 / 127.5f)</c> computes
    /// (x − 127.5) · (1/127.5) instead, which differs by one unit in the last place for 174 of the 256 bytes.
    /// </summary>
    internal static float ToModelSpace(float pixel) => (pixel / 127.5f) - 1f;

    /// <summary><see cref="ToModelSpace(float)"/> on a tensor of pixels 0–255, as float32 (the same operations, elementwise).</summary>
    internal static TorchSharp.torch.Tensor ToModelSpace(TorchSharp.torch.Tensor pixels) => (pixels.to(TorchSharp.torch.ScalarType.Float32) / 127.5f) - 1f;

    /// <summary>The model-space values that the pixel bytes 0 and 255 become, lowest first.</summary>
    public (float Min, float Max) Range
    {
        get
        {
            var (a, b) = (ToValue(0), ToValue(255));
            return (Math.Min(a, b), Math.Max(a, b));
        }
    }
}
