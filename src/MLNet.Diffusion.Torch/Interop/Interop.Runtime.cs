using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Torch.Interop;

/// <summary>Exports of the shim's error.cpp: error channel, version, threads, CUDA queries, seeding.</summary>
internal static partial class Native
{
    internal const string Library = "mlnd_native";

    // Not beforefieldinit: the resolver is registered before the first export is bound.
    static Native() => NativeLibraryLoader.Register();

    [LibraryImport(Library)]
    internal static partial IntPtr mlnd_last_error();

    [LibraryImport(Library)]
    internal static partial long mlnd_live_tensors();

    [LibraryImport(Library)]
    internal static partial IntPtr mlnd_torch_version();

    [LibraryImport(Library)]
    internal static partial int mlnd_get_num_threads();

    [LibraryImport(Library)]
    internal static partial int mlnd_set_num_threads(int threads);

    [LibraryImport(Library)]
    internal static partial int mlnd_cuda_is_available();

    [LibraryImport(Library)]
    internal static partial int mlnd_cuda_device_count();

    [LibraryImport(Library)]
    internal static partial int mlnd_cuda_synchronize(int index);

    [LibraryImport(Library)]
    internal static partial int mlnd_manual_seed(ulong seed);
}
