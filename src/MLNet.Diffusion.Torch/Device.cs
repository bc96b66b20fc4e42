using System.Globalization;

namespace MLNet.Diffusion.Torch;

/// <summary>Kinds of device. The values are libtorch's <c>c10::DeviceType</c> codes.</summary>
public enum DeviceType : sbyte
{
    /// <summary>The host CPU.</summary>
    Cpu = 0,

    /// <summary>An NVIDIA GPU.</summary>
    Cuda = 1,
}

/// <summary>Where a tensor lives: the CPU or one CUDA device.</summary>
/// <param name="Type">The kind of device.</param>
/// <param name="Index">The CUDA device index; -1 for the CPU.</param>
public readonly record struct Device(DeviceType Type, int Index)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu, -1);

    /// <summary>The first CUDA device when CUDA is available, else the CPU.</summary>
    public static Device Auto => CudaDevice.IsAvailable ? Cuda(0) : Cpu;

    /// <summary>CUDA device <paramref name="index"/>. Using it without CUDA raises a clear error.</summary>
    public static Device Cuda(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new Device(DeviceType.Cuda, index);
    }

    /// <summary>Whether this is the CPU.</summary>
    public bool IsCpu => Type == DeviceType.Cpu;

    /// <summary>Whether this is a CUDA device.</summary>
    public bool IsCuda => Type == DeviceType.Cuda;

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (case-insensitive).</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim().ToLowerInvariant();
        if (value == "cpu") return Cpu;
        if (value == "auto") return Auto;
        if (value == "cuda") return Cuda(0);
        if (value.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return Cuda(index);
        }

        throw new ArgumentException($"Unknown device '{text}'; accepted: cpu, cuda, cuda:N, auto.", nameof(text));
    }

    /// <summary>Throws when this device cannot be used in this process (CUDA without a GPU or a CUDA build).</summary>
    public void EnsureAvailable()
    {
        if (IsCuda)
        {
            var count = CudaDevice.DeviceCount;
            if (count == 0)
            {
                throw new InvalidOperationException(
                    $"Device {this} was requested but CUDA is not available: the libtorch shim was built against libtorch " +
                    $"{LibTorch.Version} without CUDA support, or no GPU is visible. Use Device.Cpu or Device.Auto.");
            }

            if (Index >= count)
            {
                throw new InvalidOperationException($"Device {this} was requested but only {count} CUDA device(s) exist (cuda:0 to cuda:{count - 1}).");
            }
        }
    }

    /// <summary>PyTorch's spelling: <c>cpu</c> or <c>cuda:N</c>.</summary>
    public override string ToString() => IsCpu ? "cpu" : $"cuda:{Index.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>CUDA queries.</summary>
public static class CudaDevice
{
    private static readonly Lazy<int> s_count = new(() => Interop.Native.mlnd_cuda_device_count());

    /// <summary>Whether at least one CUDA device can be used.</summary>
    public static bool IsAvailable => s_count.Value > 0 && Interop.Native.mlnd_cuda_is_available() != 0;

    /// <summary>The number of CUDA devices (0 without CUDA).</summary>
    public static int DeviceCount => s_count.Value;

    /// <summary>Waits for all work queued on a CUDA device to finish.</summary>
    public static void Synchronize(int index = -1) => LibTorch.Check(Interop.Native.mlnd_cuda_synchronize(index));
}
