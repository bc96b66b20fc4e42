using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Data;

/// <summary>A TurboJPEG instance (<c>tjhandle</c>) from tjInitCompress or tjInitDecompress; releasing it calls tjDestroy.</summary>
internal sealed class TurboJpegHandle : SafeHandle
{
    /// <summary>Called by the interop marshaller.</summary>
    public TurboJpegHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => TurboJpeg.Destroy(handle) == 0;
}
