using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Models;

/// <summary>
/// Frees a forward pass's intermediates as soon as the next operation has consumed them, instead of at the end of the
/// enclosing dispose scope. PyTorch frees them the same way, by reference counting: without this a residual block kept
/// every activation it made (ten of them, 6 MB each for the small preset at batch 64) alive until it returned, and the
/// larger working set cost time. Under autograd nothing changes for the backward pass: the graph keeps what it saved.
/// </summary>
internal static class Eager
{
    /// <summary>Returns <paramref name="operation"/>(<paramref name="input"/>) and disposes <paramref name="input"/>.</summary>
    public static Tensor Then(this Tensor input, Func<Tensor, Tensor> operation)
    {
        var output = operation(input);
        if (!ReferenceEquals(output, input))
        {
            input.Dispose();
        }

        return output;
    }
}
