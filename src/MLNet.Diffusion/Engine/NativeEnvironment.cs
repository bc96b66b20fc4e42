using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Engine;

/// <summary>
/// Settings that libtorch's OpenMP runtime and oneMKL read once, when they load, from the native environment. On Linux,
/// <see cref="Environment.SetEnvironmentVariable(string, string?)"/> changes only .NET's copy of the environment, which
/// native <c>getenv</c> never sees, so they are written with libc's <c>setenv</c>, before TorchSharp loads libtorch.
/// </summary>
public static partial class NativeEnvironment
{
    /// <summary>
    /// How many times an idle OpenMP thread polls for work before it sleeps (libgomp's <c>GOMP_SPINCOUNT</c>), set unless
    /// the process already sets <c>GOMP_SPINCOUNT</c> or <c>OMP_WAIT_POLICY</c>: 1,000. libgomp's own default, 300,000
    /// polls (about a millisecond), lets two libtorch processes on few cores spend their time spinning against each
    /// other; sleeping at once (<c>OMP_WAIT_POLICY=PASSIVE</c>) shares the cores but slows a training that runs alone.
    /// 1,000 polls sits between the two; bench/README.md ("Shared cores") has the measurements.
    /// </summary>
    public const string DefaultGompSpinCount = "1000";

    /// <summary>
    /// The oneMKL conditional numerical reproducibility mode this library sets unless the process already has one:
    /// <c>AUTO,STRICT</c> (the best code path for the CPU, in strict mode). oneMKL's sgemm is what libtorch's linear layers
    /// run in training and evaluation; without a CNR mode oneMKL may change how it sums from run to run (memory alignment,
    /// thread scheduling), and a resumed training must repeat the original's steps bit for bit. Batch invariance of
    /// generation does not rest on it: the sampling network call (<c>UNet2D.ForwardAt</c>) runs its linear layers and
    /// convolutions through oneDNN, and oneMKL only for attention's small products inside ATen's parallel loop, where
    /// oneMKL runs one thread per product whatever the batch. A branch setting (<c>MKL_CBWR=AVX2</c> and the like) may
    /// change the rounding of those products, not their independence from the batch. Strict mode itself does not make a
    /// row of a product independent of the number of rows, and on AMD processors oneMKL ignores the branch.
    /// </summary>
    public const string DefaultMklCbwr = "AUTO,STRICT";

    /// <summary>
    /// Sets <c>GOMP_SPINCOUNT</c> to <see cref="DefaultGompSpinCount"/> (unless <c>GOMP_SPINCOUNT</c> or
    /// <c>OMP_WAIT_POLICY</c> is set) and <c>MKL_CBWR</c> to <see cref="DefaultMklCbwr"/> (unless set) in the native
    /// environment. Runs by itself when this assembly
    /// loads; call it explicitly first thing in an app that uses TorchSharp before it touches any MLNet.Diffusion type.
    /// The wait policy has no effect once libtorch is loaded, the MKL mode none after libtorch's first matrix product.
    /// Does nothing on Windows.
    /// </summary>
    public static void ApplyDefaults()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
        {
            SetDefault("GOMP_SPINCOUNT", DefaultGompSpinCount);
        }

        SetDefault("MKL_CBWR", DefaultMklCbwr);
    }

    private static void SetDefault(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is not null)
        {
            return;
        }

        _ = SetEnv(name, value, overwrite: 0);
        Environment.SetEnvironmentVariable(name, value);  // what .NET code (and children) see
    }

#pragma warning disable CA2255 // a module initializer in a library: it must run before the first TorchSharp call, which may be ours
    [ModuleInitializer]
    internal static void OnLoad()
    {
        ApplyDefaults();
        LibTorchSharpFix.Apply();
    }
#pragma warning restore CA2255

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
