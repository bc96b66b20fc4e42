using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch.Optim;

/// <summary>Gradient clipping (PyTorch's <c>torch.nn.utils.clip_grad_norm_</c>).</summary>
public static unsafe class GradientClipping
{
    /// <summary>
    /// Scales all gradients by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the L2 norm of all gradients together.
    /// Returns ‖g‖ before clipping as a 0-dim tensor (reading it syncs with the device; the clipping itself does not).
    /// </summary>
    public static Tensor ClipGradNorm(IReadOnlyList<Tensor> parameters, double maxNorm)
    {
        if (!(maxNorm > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The maximum norm must be > 0.");
        }

        var handles = LibTorch.Handles(parameters, nameof(parameters));
        fixed (IntPtr* p = handles)
        {
            var result = LibTorch.Wrap(Native.mlnd_clip_grad_norm(p, handles.Length, maxNorm));
            GC.KeepAlive(parameters);
            return result;
        }
    }
}
