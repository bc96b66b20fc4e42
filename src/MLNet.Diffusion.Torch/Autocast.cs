using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>
/// Automatic mixed precision (PyTorch's <c>torch.autocast</c>): inside the scope, operations that are safe in lower
/// precision (convolutions, linear layers, matrix products) run in <see cref="ScalarType.BFloat16"/> or
/// <see cref="ScalarType.Float16"/> on the given device type, and the rest stay in float32. Scopes nest and
/// belong to the thread that opened them.
/// </summary>
public sealed class Autocast : IDisposable
{
    private readonly DeviceType _device;
    private readonly bool _previousEnabled;
    private readonly ScalarType _previousType;
    private bool _disposed;

    private Autocast(DeviceType device, ScalarType dtype)
    {
        if (dtype is not (ScalarType.BFloat16 or ScalarType.Float16))
        {
            throw new ArgumentException($"Autocast runs in bfloat16 or float16, not {dtype.Name()}.", nameof(dtype));
        }

        _device = device;
        var enabled = Native.mlnd_autocast_is_enabled((sbyte)device);
        LibTorch.Check(enabled);
        var type = Native.mlnd_autocast_get_dtype((sbyte)device);
        LibTorch.Check(type);
        (_previousEnabled, _previousType) = (enabled != 0, (ScalarType)type);
        LibTorch.Check(Native.mlnd_autocast_set_dtype((sbyte)device, (sbyte)dtype));
        LibTorch.Check(Native.mlnd_autocast_set_enabled((sbyte)device, 1));
        _ = Native.mlnd_autocast_increment_nesting();
    }

    /// <summary>Whether autocast is on for <paramref name="device"/>'s type on this thread.</summary>
    public static bool IsEnabled(DeviceType device)
    {
        var enabled = Native.mlnd_autocast_is_enabled((sbyte)device);
        LibTorch.Check(enabled);
        return enabled != 0;
    }

    /// <summary>Turns autocast on for the type of <paramref name="device"/> until the scope is disposed.</summary>
    public static Autocast Enable(Device device, ScalarType dtype = ScalarType.BFloat16) => new(device.Type, dtype);

    /// <summary>Restores the previous autocast settings.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _ = Native.mlnd_autocast_decrement_nesting();
        LibTorch.Check(Native.mlnd_autocast_set_enabled((sbyte)_device, Tensor.Flag(_previousEnabled)));
        LibTorch.Check(Native.mlnd_autocast_set_dtype((sbyte)_device, (sbyte)_previousType));
    }
}
