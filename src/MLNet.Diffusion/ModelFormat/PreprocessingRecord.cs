using MLNet.Diffusion.Images;
using MLNet.Diffusion.Models;

namespace MLNet.Diffusion.ModelFormat;

/// <summary>
/// The manifest's preprocessing: how the training images became the model's values. The first four fields are in every
/// file (model space [−1, 1] when alone); the encoding fields are optional. <c>Interleaved</c> is always written false
/// (pixels are planar [C, H, W]) and not read.
/// </summary>
internal sealed record PreprocessingRecord(int ImageSize, int Channels, double RangeMin, double RangeMax, float? OffsetImage = null, float? ScaleImage = null,
    PixelColors? Colors = null, bool? Interleaved = null, ImageResizeMode? Resizing = null)
{
    /// <summary>The pixel encoding, checked against the model's channels.</summary>
    public PixelEncoding ToEncoding(string path, UNetConfig config)
    {
        var model = PixelEncoding.ModelSpace(config.InChannels);
        var encoding = new PixelEncoding(Colors ?? model.Colors, OffsetImage ?? model.OffsetImage, ScaleImage ?? model.ScaleImage, Resizing);
        if (!float.IsFinite(encoding.OffsetImage) || !float.IsFinite(encoding.ScaleImage) || encoding.ScaleImage == 0 ||
            (encoding.Colors == PixelColors.Gray ? 1 : 3) != config.InChannels)
        {
            throw ModelFile.Invalid(path, $"its preprocessing ({encoding}) does not fit a {config.InChannels}-channel model");
        }

        return encoding;
    }
}
