using System.Globalization;
using TorchSharp;

namespace MLNet.Diffusion.Engine;

/// <summary>Device names as options and the CLI take them ("cpu", "cuda", "cuda:1"), checked before any work.</summary>
public static class Devices
{
    /// <summary>
    /// Parses "cpu", "cuda" (device 0), "cuda:N" (N ≥ 0) or "auto" (the first GPU when CUDA is available, else the CPU),
    /// case-insensitively. Does not check that a named GPU exists (see <see cref="EnsureAvailable"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="text"/> is none of those forms.</exception>
    public static torch.Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim().ToLowerInvariant();
        if (trimmed == "cpu")
        {
            return torch.CPU;
        }

        if (trimmed == "auto")
        {
            return torch.cuda.is_available() ? new torch.Device(DeviceType.CUDA, 0) : torch.CPU;
        }

        if (trimmed == "cuda")
        {
            return new torch.Device(DeviceType.CUDA, 0);
        }

        if (trimmed.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(trimmed.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return new torch.Device(DeviceType.CUDA, index);
        }

        throw new ArgumentException($"Unknown device '{text}'; accepted: cpu, cuda, cuda:N, auto.", nameof(text));
    }

    /// <summary>Whether <paramref name="device"/> is the CPU.</summary>
    public static bool IsCpu(this torch.Device device) => device?.type == DeviceType.CPU;

    /// <summary>
    /// Throws one clear error when <paramref name="device"/> is a GPU this process cannot use: no CUDA build of libtorch
    /// (an app that references <c>TorchSharp-cpu</c>), no GPU, or an index past the last GPU.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device is not available.</exception>
    public static void EnsureAvailable(this torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.type == DeviceType.CPU)
        {
            return;
        }

        if (device.type != DeviceType.CUDA)
        {
            throw new InvalidOperationException($"Device {device} is not supported; use the CPU or a CUDA GPU.");
        }

        var count = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        if (count == 0)
        {
            throw new InvalidOperationException(
                $"Device {device} was asked for, but CUDA is not available to this process: it needs an NVIDIA GPU with its driver and the app " +
                "must reference a CUDA build of TorchSharp (TorchSharp-cuda-linux or TorchSharp-cuda-windows) instead of TorchSharp-cpu; " +
                "or ask for the device \"cpu\" (the Device of the trainer's and the generation options, DiffusionModel.Load's device).");
        }

        if (device.index >= count)
        {
            throw new InvalidOperationException($"Device {device} was asked for, but this machine has {count} CUDA device(s): cuda:0 to cuda:{count - 1}.");
        }
    }
}
