using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Torch.Interop;

/// <summary>Exports of the shim's autocast.cpp.</summary>
internal static partial class Native
{
    [LibraryImport(Library)]
    internal static partial int mlnd_autocast_is_enabled(sbyte deviceType);

    [LibraryImport(Library)]
    internal static partial int mlnd_autocast_set_enabled(sbyte deviceType, sbyte enabled);

    [LibraryImport(Library)]
    internal static partial int mlnd_autocast_get_dtype(sbyte deviceType);

    [LibraryImport(Library)]
    internal static partial int mlnd_autocast_set_dtype(sbyte deviceType, sbyte dtype);

    [LibraryImport(Library)]
    internal static partial int mlnd_autocast_increment_nesting();

    [LibraryImport(Library)]
    internal static partial int mlnd_autocast_decrement_nesting();
}
