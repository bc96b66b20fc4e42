using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Models;

/// <summary>TorchSharp layers created the way PyTorch creates them, where TorchSharp 0.107 differs.</summary>
internal static class Layers
{
    /// <summary>
    /// <c>nn.GroupNorm</c> with PyTorch's initial affine parameters, weight 1 and bias 0. TorchSharp 0.107 leaves them
    /// uninitialised (whatever the allocator returned, values near 1e25 were seen), so two models built from one seed
    /// would differ.
    /// </summary>
    public static GroupNorm GroupNorm(long groups, long channels)
    {
        var norm = nn.GroupNorm(groups, channels);
        using var noGrad = torch.no_grad();
        norm.weight.fill_(1);
        norm.bias!.fill_(0);  // not zero_(): TorchSharp 0.107's returns a new tensor, which would never be disposed
        return norm;
    }

    /// <summary>Zeroes a convolution's weight and bias: the block it ends starts as the identity (DDPM's init).</summary>
    public static Conv2d ZeroInit(Conv2d conv)
    {
        using var noGrad = torch.no_grad();
        conv.weight.fill_(0);  // fill_, not zero_: see GroupNorm
        conv.bias?.fill_(0);
        return conv;
    }
}
