using TorchSharp.Modules;

namespace MLNet.Diffusion.Models;

/// <summary>
/// One resolution of <see cref="UNet2D"/>'s way down or up: its residual blocks, each with its attention where the
/// resolution has it, then the convolution that halves (down) or follows the doubling of (up) the resolution; none at the
/// last level. A view of modules registered under the network's <c>down</c> and <c>up</c> lists, so the state-dict names
/// stay PyTorch's flat ones.
/// </summary>
/// <param name="Blocks">The residual blocks in order, each with its attention block or null.</param>
/// <param name="Resample">The resampling convolution, or null at the last level.</param>
internal sealed record UNetLevel(IReadOnlyList<(ResidualBlock Block, AttentionBlock? Attention)> Blocks, Conv2d? Resample);
