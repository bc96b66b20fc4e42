using System.Runtime.InteropServices;
using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>
/// Entry point of the binding: tensor factories, the global seed, thread count, and process-wide queries.
/// </summary>
public static unsafe partial class LibTorch
{
    private static int s_threadsInitialised;

    /// <summary>The libtorch version the shim was compiled against, e.g. <c>1.13.0</c>.</summary>
    public static string Version => Marshal.PtrToStringUTF8(Native.mlnd_torch_version()) ?? "unknown";

    /// <summary>The number of native tensor handles alive in this process (for leak tests).</summary>
    public static long LiveTensorCount => Native.mlnd_live_tensors();

    /// <summary>
    /// The number of intra-op threads libtorch uses. Defaults to <c>MLND_NUM_THREADS</c>, else
    /// <c>OMP_NUM_THREADS</c>, else the machine's processor count (Debian's libtorch starts with 1).
    /// </summary>
    public static int NumThreads
    {
        get
        {
            EnsureInitialised();
            return Native.mlnd_get_num_threads();
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Interlocked.Exchange(ref s_threadsInitialised, 1);
            Check(Native.mlnd_set_num_threads(value));
        }
    }

    /// <summary>Seeds the default generators of every device (PyTorch's <c>torch.manual_seed</c>).</summary>
    public static void ManualSeed(ulong seed)
    {
        EnsureInitialised();
        Check(Native.mlnd_manual_seed(seed));
    }

    /// <summary>Creates a scope that disposes every tensor created inside it on this thread, unless moved out.</summary>
    public static DisposeScope NewDisposeScope() => new();

    internal static void EnsureInitialised()
    {
        if (Interlocked.Exchange(ref s_threadsInitialised, 1) == 0)
        {
            Check(Native.mlnd_set_num_threads(DefaultThreadCount()));
        }
    }

    private static int DefaultThreadCount()
    {
        foreach (var name in new[] { "MLND_NUM_THREADS", "OMP_NUM_THREADS" })
        {
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out var n) && n > 0)
            {
                return n;
            }
        }

        return Environment.ProcessorCount;
    }

    /// <summary>The pending native error as an exception.</summary>
    internal static TorchException LastError()
    {
        var message = Marshal.PtrToStringUTF8(Native.mlnd_last_error());
        return new TorchException(string.IsNullOrEmpty(message) ? "libtorch reported an error without a message." : message);
    }

    /// <summary>Throws the native error when a status-returning export failed.</summary>
    internal static void Check(int status)
    {
        if (status < 0)
        {
            throw LastError();
        }
    }

    /// <summary>Wraps a new native tensor, throwing the native error when the export failed.</summary>
    internal static Tensor Wrap(TensorHandle handle)
    {
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw LastError();
        }

        return new Tensor(handle);
    }

    /// <summary>Passes a raw array of handles to the shim; the tensors stay alive through the caller's references.</summary>
    internal static IntPtr[] Handles(IReadOnlyList<Tensor> tensors, string paramName)
    {
        ArgumentNullException.ThrowIfNull(tensors, paramName);
        var result = new IntPtr[tensors.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var t = tensors[i] ?? throw new ArgumentException($"Element {i} of {paramName} is null.", paramName);
            result[i] = t.LiveHandle.DangerousGetHandle();
        }

        return result;
    }
}
