namespace MLNet.Diffusion.Images;

/// <summary>
/// An 8-bit image in memory: <see cref="Height"/> rows of <see cref="Width"/> pixels, top row first, each pixel
/// <see cref="Channels"/> interleaved bytes — 1 gray, 2 gray and alpha, 3 red, green and blue, 4 RGB and alpha.
/// Color values are sRGB-encoded, as in 8-bit PNG files; alpha is not premultiplied.
/// </summary>
public sealed class Image
{
    private readonly byte[] _pixels;

    /// <summary>A black (and, with alpha, transparent) image.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, the channel count is not 1 to 4, or the image would not fit in one array.</exception>
    public Image(int width, int height, int channels)
    {
        _pixels = new byte[Validate(width, height, channels)];
        (Width, Height, Channels) = (width, height, channels);
    }

    /// <summary>An image holding a copy of <paramref name="pixels"/> (interleaved, row-major, top row first).</summary>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> does not hold exactly width × height × channels bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the channel count is not 1 to 4.</exception>
    public Image(int width, int height, int channels, ReadOnlySpan<byte> pixels)
        : this(width, height, channels)
    {
        if (pixels.Length != _pixels.Length)
        {
            throw new ArgumentException(
                $"A {width}×{height} image with {channels} channels has {_pixels.Length} bytes; {pixels.Length} were given.", nameof(pixels));
        }

        pixels.CopyTo(_pixels);
    }

    private Image(int width, int height, int channels, byte[] pixels)
    {
        (Width, Height, Channels, _pixels) = (width, height, channels, pixels);
    }

    /// <summary>The width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height in pixels.</summary>
    public int Height { get; }

    /// <summary>Bytes per pixel: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.</summary>
    public int Channels { get; }

    /// <summary>Bytes per row: <see cref="Width"/> × <see cref="Channels"/>.</summary>
    public int RowBytes => Width * Channels;

    /// <summary>Whether the last channel is alpha (2 or 4 channels).</summary>
    public bool HasAlpha => Channels is 2 or 4;

    /// <summary>The pixel bytes, interleaved, row-major, top row first; writable.</summary>
    public Span<byte> Pixels => _pixels;

    /// <summary>One channel of one pixel.</summary>
    /// <param name="x">The column, 0 at the left.</param>
    /// <param name="y">The row, 0 at the top.</param>
    /// <param name="channel">The channel, 0 to <see cref="Channels"/> − 1.</param>
    public byte this[int x, int y, int channel]
    {
        get => _pixels[Offset(x, y, channel)];
        set => _pixels[Offset(x, y, channel)] = value;
    }

    /// <summary>The bytes of row <paramref name="y"/> (0 at the top); writable.</summary>
    public Span<byte> GetRow(int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        return _pixels.AsSpan(y * RowBytes, RowBytes);
    }

    /// <summary>Describes the image, e.g. <c>Image 28×28, 1 channel</c>.</summary>
    public override string ToString() => $"Image {Width}×{Height}, {Channels} channel{(Channels == 1 ? "" : "s")}";

    /// <summary>Wraps <paramref name="pixels"/> without copying; it must hold width × height × channels bytes.</summary>
    internal static Image Wrap(int width, int height, int channels, byte[] pixels)
    {
        if (pixels.Length != Validate(width, height, channels))
        {
            throw new ArgumentException($"Expected {width}×{height}×{channels} bytes, got {pixels.Length}.", nameof(pixels));
        }

        return new Image(width, height, channels, pixels);
    }

    /// <summary>Checks the sizes and returns the byte count.</summary>
    internal static int Validate(int width, int height, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (channels is < 1 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).");
        }

        var length = (long)width * height * channels;
        if (length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A {width}×{height} image with {channels} channels does not fit in one array.");
        }

        return (int)length;
    }

    private int Offset(int x, int y, int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(x, Width);
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, Channels);
        return (((y * Width) + x) * Channels) + channel;
    }
}
