using System.Globalization;

namespace MLNet.Diffusion.Models;

/// <summary>
/// The shape of a <see cref="UNet2D"/> of the DDPM/ADM family. Each default is DDPM's CIFAR-10 model
/// (Ho et al. 2020, Appendix B), apart from the image and channel counts, which describe the data.
/// </summary>
public sealed record UNetConfig
{
    /// <summary>The side of the square images, in pixels. Must be divisible by 2^(levels − 1).</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Channels of the input images (1 gray, 3 RGB).</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Channels of the output (the same as the input for ε, x₀ or v prediction).</summary>
    public int OutChannels { get; init; } = 3;

    /// <summary>Channels at the first level; the sinusoidal timestep embedding has this width and its MLP 4×.</summary>
    public int BaseChannels { get; init; } = 128;

    /// <summary>Channel multiplier of each resolution level, highest resolution first. Default (1, 2, 2, 2).</summary>
    public IReadOnlyList<int> ChannelMultipliers { get; init; } = [1, 2, 2, 2];

    /// <summary>Residual blocks per level on the way down (one more on the way up). Default 2.</summary>
    public int ResBlocksPerLevel { get; init; } = 2;

    /// <summary>The resolutions (in pixels) at which self-attention follows each residual block. Default 16.</summary>
    public IReadOnlyList<int> AttentionResolutions { get; init; } = [16];

    /// <summary>Attention heads; the channels are split evenly among them. Default 1, as in DDPM.</summary>
    public int AttentionHeads { get; init; } = 1;

    /// <summary>Dropout inside the residual blocks. Default 0.1.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Groups of every GroupNorm. Default 32.</summary>
    public int GroupNormGroups { get; init; } = 32;

    /// <summary>
    /// The number of classes for class-conditional models, or null for an unconditional one. A class-conditional
    /// model has one extra embedding, index <c>NumClasses</c>, the "null" label of classifier-free guidance.
    /// </summary>
    public int? NumClasses { get; init; }

    /// <summary>The preset names: tiny, small, ddpm-cifar10.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small", "ddpm-cifar10"];

    /// <summary>
    /// A named preset for images of <paramref name="imageSize"/> pixels and <paramref name="channels"/> channels:
    /// <c>tiny</c> (tests: 16 channels, 2 levels, 1 block), <c>small</c> (28–32 px on a CPU in minutes: 32 channels,
    /// 3 levels, 2 blocks), <c>ddpm-cifar10</c> (the paper's 35.7M-parameter model). tiny and small attend at their
    /// lowest resolution.
    /// </summary>
    public static UNetConfig Preset(string name, int imageSize = 32, int channels = 3, int? numClasses = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var config = name.ToLowerInvariant() switch
        {
            "tiny" => new UNetConfig
            {
                BaseChannels = 16, ChannelMultipliers = [1, 2], ResBlocksPerLevel = 1,
                AttentionResolutions = [imageSize / 2], Dropout = 0, GroupNormGroups = 8,
            },
            "small" => new UNetConfig
            {
                BaseChannels = 32, ChannelMultipliers = [1, 2, 2], ResBlocksPerLevel = 2,
                AttentionResolutions = [imageSize / 4], AttentionHeads = 4, Dropout = 0.1, GroupNormGroups = 8,
            },
            "ddpm-cifar10" => new UNetConfig(),
            _ => throw new ArgumentException($"Unknown model preset '{name}'; accepted: {string.Join(", ", PresetNames)}.", nameof(name)),
        };
        return (config with { ImageSize = imageSize, InChannels = channels, OutChannels = channels, NumClasses = numClasses }).Validated();
    }

    /// <summary>Checks every setting and returns this config, or throws an <see cref="ArgumentException"/> naming the setting.</summary>
    public UNetConfig Validated()
    {
        Check(ImageSize >= 4, nameof(ImageSize), $"must be ≥ 4, not {ImageSize}");
        Check(InChannels >= 1 && OutChannels >= 1, nameof(InChannels), "channel counts must be ≥ 1");
        Check(BaseChannels >= 1, nameof(BaseChannels), $"must be ≥ 1, not {BaseChannels}");
        Check(ChannelMultipliers is { Count: >= 1 } && ChannelMultipliers.All(m => m >= 1), nameof(ChannelMultipliers), "needs at least one level, each multiplier ≥ 1");
        Check(ResBlocksPerLevel >= 1, nameof(ResBlocksPerLevel), $"must be ≥ 1, not {ResBlocksPerLevel}");
        Check(Dropout is >= 0 and < 1, nameof(Dropout), $"must be in [0, 1), not {Dropout}");
        Check(AttentionHeads >= 1, nameof(AttentionHeads), $"must be ≥ 1, not {AttentionHeads}");
        Check(NumClasses is null or >= 1, nameof(NumClasses), $"must be ≥ 1 or null, not {NumClasses}");
        var levels = ChannelMultipliers.Count;
        Check(ImageSize % (1 << (levels - 1)) == 0, nameof(ImageSize),
            $"{ImageSize} px cannot be halved {levels - 1} times; use a size divisible by {1 << (levels - 1)} or fewer levels");
        foreach (var channels in ChannelMultipliers.Select(m => m * BaseChannels).Prepend(BaseChannels))
        {
            Check(channels % GroupNormGroups == 0, nameof(GroupNormGroups), $"{channels} channels cannot be split into {GroupNormGroups} groups");
        }

        var resolutions = Enumerable.Range(0, levels).Select(i => ImageSize >> i).ToHashSet();
        foreach (var r in AttentionResolutions)
        {
            Check(resolutions.Contains(r), nameof(AttentionResolutions),
                $"{r} is not one of the model's resolutions ({string.Join(", ", resolutions.Order())})");
        }

        foreach (var m in ChannelMultipliers.Where((_, i) => AttentionResolutions.Contains(ImageSize >> i)).Append(ChannelMultipliers[^1]))
        {
            Check(m * BaseChannels % AttentionHeads == 0, nameof(AttentionHeads), $"{m * BaseChannels} channels cannot be split into {AttentionHeads} heads");
        }

        return this;
    }

    /// <summary>A one-line description, e.g. for logs.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"UNet2D {ImageSize}px {InChannels}→{OutChannels}ch, base {BaseChannels} × ({string.Join(", ", ChannelMultipliers)}), {ResBlocksPerLevel} blocks, attention at {string.Join("/", AttentionResolutions)} px ({AttentionHeads} heads), dropout {Dropout}, {GroupNormGroups} groups{(NumClasses is { } n ? $", {n} classes" : string.Empty)}");

    private static void Check(bool condition, string setting, string reason)
    {
        if (!condition)
        {
            throw new ArgumentException($"UNet config: {setting} {reason}.", setting);
        }
    }
}
