namespace MLNet.Diffusion.Images;

/// <summary>How <see cref="DiffusionCatalog.LoadImageFolder"/> brings an image of any size to the square training size.</summary>
public enum ImageResizeMode
{
    /// <summary>Stretches the image to the square, changing its aspect ratio when it is not square.</summary>
    Fill,

    /// <summary>Keeps the aspect ratio: scales the short side to the training size and crops the long side around the center.</summary>
    IsoCrop,

    /// <summary>Keeps the aspect ratio: scales the long side to the training size and pads the short side with black around the center.</summary>
    IsoPad,
}
