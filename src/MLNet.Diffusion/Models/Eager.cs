using static TorchSharp.torch;

namespace MLNet.Diffusion.Models;

/// <summary>
/// Frees a forward pass's intermediates as soon as the next operation has consumed them, instead of at the end of the
/// enclosing dispose scope, as PyTorch frees them by reference counting: a block would otherwise keep every activation it
/// makes alive until it returns, and a larger working set costs time. Under autograd nothing changes for the backward
/// pass: the graph keeps what it saved.
/// </summary>
internal static class Eager
{
    /// <summary>Returns <paramref name="operation"/>(<paramref name="input"/>) and disposes <paramref name="input"/>.</summary>
    public static Tensor ThenDispose(this Tensor input, Func<Tensor, Tensor> operation)
    {
        var output = operation(input);
        if (!ReferenceEquals(output, input))
        {
            input.Dispose();
        }

        return output;
    }
}
