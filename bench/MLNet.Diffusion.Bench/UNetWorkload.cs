using MLNet.Diffusion.Models;
using MLNet.Diffusion.Torch;

namespace MLNet.Diffusion.Bench;

/// <summary>What the two UNet workloads share: the configuration and how their weights are set up.</summary>
internal static class UNetWorkload
{
    /// <summary>
    /// The standard deviation of the noise added to every weight before the check. The zero-initialised layers
    /// (each residual block's last conv, the attention projections, the output conv) would otherwise make the output
    /// exactly zero and every gradient but the output conv's exactly zero, and the check would test next to nothing.
    /// </summary>
    public const double WeightNoise = 0.05;

    /// <summary>The model the benchmark times: a preset for gray or colour images of the given size.</summary>
    public static UNetConfig Config(BenchOptions options) =>
        UNetConfig.Preset(options.Preset, options.ImageSize, options.Channels);

    /// <summary>Adds N(0, <see cref="WeightNoise"/>²) to every parameter of <paramref name="model"/>.</summary>
    public static void Perturb(UNet2D model)
    {
        using var noGrad = Autograd.NoGrad();
        using var scope = LibTorch.NewDisposeScope();
        foreach (var parameter in model.Parameters())
        {
            parameter.AddInPlace(LibTorch.RandnLike(parameter), WeightNoise);
        }
    }

    /// <summary>All parameters flattened into one vector (a new tensor).</summary>
    public static Tensor Flat(IEnumerable<Tensor> tensors)
    {
        using var scope = LibTorch.NewDisposeScope();
        return scope.MoveToOuter(LibTorch.Cat([.. tensors.Select(t => t.Detach().Flatten())]));
    }
}
