using System.Runtime.InteropServices;
using System.Text;

namespace MLNet.Diffusion.Data;

/// <summary>
/// A <c>png_image</c> in native memory. libpng keeps a pointer to the structure between a begin-read and the
/// finishing call (its error handler writes <c>message</c> through it), so it must not move: it cannot live on
/// the managed heap. Releasing the handle frees libpng's state and then the structure.
/// </summary>
/// <remarks>
/// The layout is png.h's (libpng 1.6): <c>png_controlp opaque; png_uint_32 version, width, height, format, flags,
/// colormap_entries, warning_or_error; char message[64];</c>. On x86-64 <c>offsetof</c> gives 0, 8, 12, ..., 32, 36
/// and <c>sizeof</c> 104, which is what the offsets below compute.
/// </remarks>
internal sealed class PngImageHandle : SafeHandle
{
    private const int MessageLength = 64;
    private static readonly int s_version = IntPtr.Size;
    private static readonly int s_width = s_version + 4;
    private static readonly int s_height = s_version + 8;
    private static readonly int s_format = s_version + 12;
    private static readonly int s_flags = s_version + 16;
    private static readonly int s_message = s_version + 28;
    private static readonly int s_size = (s_message + MessageLength + IntPtr.Size - 1) / IntPtr.Size * IntPtr.Size;

    /// <summary>A zeroed <c>png_image</c> with <c>version</c> set, as libpng requires before any call.</summary>
    public PngImageHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
        var memory = Marshal.AllocHGlobal(s_size);
        SetHandle(memory);
        Marshal.Copy(new byte[s_size], 0, memory, s_size);
        Marshal.WriteInt32(memory, s_version, (int)LibPng.ImageVersion);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Image width in pixels.</summary>
    public uint Width
    {
        get => Read(s_width);
        set => Write(s_width, value);
    }

    /// <summary>Image height in pixels.</summary>
    public uint Height
    {
        get => Read(s_height);
        set => Write(s_height, value);
    }

    /// <summary>The PNG_FORMAT_* code: the file's after a begin-read, the requested one before a finish or write.</summary>
    public uint Format
    {
        get => Read(s_format);
        set => Write(s_format, value);
    }

    /// <summary>PNG_IMAGE_FLAG_* bits; set by a begin-read, adjustable before the finishing call.</summary>
    public uint Flags
    {
        get => Read(s_flags);
        set => Write(s_flags, value);
    }

    /// <summary>libpng's message for the last error or warning, or an empty string.</summary>
    public string Message
    {
        get
        {
            var bytes = new byte[MessageLength];
            Marshal.Copy(handle + s_message, bytes, 0, MessageLength);
            var end = Array.IndexOf(bytes, (byte)0);
            return Encoding.UTF8.GetString(bytes, 0, end < 0 ? MessageLength : end);
        }
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        // A non-null opaque pointer means libpng was loaded and still holds state.
        if (Marshal.ReadIntPtr(handle) != IntPtr.Zero)
        {
            LibPng.Free(handle);
        }

        Marshal.FreeHGlobal(handle);
        return true;
    }

    private uint Read(int offset) => unchecked((uint)Marshal.ReadInt32(handle, offset));

    private void Write(int offset, uint value) => Marshal.WriteInt32(handle, offset, unchecked((int)value));
}
