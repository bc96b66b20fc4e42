using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>Switches for autograd recording on the current thread.</summary>
public static class Autograd
{
    /// <summary>Whether operations on this thread are recorded for back-propagation.</summary>
    public static bool IsGradEnabled => Native.mlnd_is_grad_enabled() != 0;

    /// <summary>Stops recording until the returned scope is disposed (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static GradModeScope NoGrad() => new(enabled: false);

    /// <summary>Records even inside a no-grad scope until the returned scope is disposed.</summary>
    public static GradModeScope EnableGrad() => new(enabled: true);

    /// <summary>
    /// Inference mode until disposed (PyTorch's <c>torch.inference_mode()</c>): no recording and no version
    /// counters, slightly faster than <see cref="NoGrad"/>. Tensors created inside cannot later join a graph.
    /// Dispose it on the thread that created it.
    /// </summary>
    public static InferenceModeScope InferenceMode() => new();

    /// <summary>Restores the previous grad mode when disposed.</summary>
    public readonly struct GradModeScope : IDisposable
    {
        private readonly bool _previous;

        internal GradModeScope(bool enabled) => _previous = Native.mlnd_set_grad_enabled(Tensor.Flag(enabled)) != 0;

        /// <summary>Restores the previous setting.</summary>
        public void Dispose() => _ = Native.mlnd_set_grad_enabled(Tensor.Flag(_previous));
    }

    /// <summary>Leaves inference mode when disposed.</summary>
    public sealed class InferenceModeScope : IDisposable
    {
        private IntPtr _guard;

        internal InferenceModeScope()
        {
            _guard = Native.mlnd_inference_mode_enter();
            if (_guard == IntPtr.Zero)
            {
                throw LibTorch.LastError();
            }
        }

        /// <summary>Leaves inference mode.</summary>
        public void Dispose()
        {
            var guard = Interlocked.Exchange(ref _guard, IntPtr.Zero);
            if (guard != IntPtr.Zero)
            {
                Native.mlnd_inference_mode_exit(guard);
            }
        }
    }
}
