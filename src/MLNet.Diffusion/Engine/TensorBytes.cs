using TorchSharp;

namespace MLNet.Diffusion.Engine;

/// <summary>Copies between tensors and little-endian bytes (safetensors, IDX, images), always through the CPU.</summary>
internal static class TensorBytes
{
    /// <summary>The raw bytes of <paramref name="tensor"/> in row-major order (a contiguous CPU copy is made when needed).</summary>
    internal static byte[] ToBytes(this torch.Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var cpu = tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu();
        var contiguous = cpu.is_contiguous() ? cpu : cpu.contiguous();
        return contiguous.NumberOfElements == 0 ? [] : contiguous.bytes.ToArray();
    }

    /// <summary>A new tensor of <paramref name="dtype"/> and <paramref name="shape"/> holding a copy of <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">The byte count does not match the shape and element size.</exception>
    internal static torch.Tensor FromBytes(ReadOnlySpan<byte> data, torch.ScalarType dtype, long[] shape, torch.Device? device = null)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (count * dtype.ElementSize() != data.Length)
        {
            throw new ArgumentException($"{data.Length} bytes cannot fill a {dtype.Name()} tensor [{string.Join(", ", shape)}].", nameof(data));
        }

        var result = torch.empty(shape, dtype);
        if (count > 0)
        {
            data.CopyTo(result.bytes);
        }

        if (device is null || device.type == DeviceType.CPU)
        {
            return result;
        }

        using (result)
        {
            return result.to(device);
        }
    }
}
