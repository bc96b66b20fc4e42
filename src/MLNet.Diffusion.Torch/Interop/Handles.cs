using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Torch.Interop;

/// <summary>Owns one native <c>at::Tensor*</c>; releasing it frees the handle (libtorch frees the storage when no view is left).</summary>
internal sealed class TensorHandle : SafeHandle
{
    /// <summary>The null handle, passed where an optional tensor is absent. Never released.</summary>
    internal static readonly TensorHandle Null = new();

    public TensorHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Native.mlnd_tensor_free(handle);
        return true;
    }
}

/// <summary>Owns one native <c>at::Generator*</c>.</summary>
internal sealed class GeneratorHandle : SafeHandle
{
    /// <summary>The null handle: "use the device's default generator".</summary>
    internal static readonly GeneratorHandle Null = new();

    public GeneratorHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Native.mlnd_generator_free(handle);
        return true;
    }
}
