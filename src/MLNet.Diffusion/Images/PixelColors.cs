namespace MLNet.Diffusion.Images;

/// <summary>Which colors <c>ExtractPixels</c> takes from an image, and so how many channels its vectors have.</summary>
public enum PixelColors
{
    /// <summary>Red, green and blue: 3 channels. Gray images are repeated into all three.</summary>
    Rgb,

    /// <summary>Luma (0.299 R + 0.587 G + 0.114 B): 1 channel.</summary>
    Gray,
}
