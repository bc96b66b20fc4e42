using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>
/// A libtorch tensor. Each instance owns one native handle: dispose it, or create it inside a
/// <see cref="DisposeScope"/> that will. Views share storage with their base, as in PyTorch.
/// </summary>
public sealed unsafe partial class Tensor : IDisposable
{
    private readonly TensorHandle _handle;

    internal Tensor(TensorHandle handle)
    {
        _handle = handle;
        DisposeScope.Current?.Attach(this);
    }

    internal DisposeScope? OwningScope { get; set; }

    /// <summary>The native handle, or an <see cref="ObjectDisposedException"/> with advice when it was released.</summary>
    internal TensorHandle LiveHandle => _handle.IsClosed
        ? throw new ObjectDisposedException(nameof(Tensor),
            "This tensor has been disposed, possibly by the DisposeScope that owned it; move results out of a scope with MoveToOuterScope().")
        : _handle;

    /// <summary>Whether the native handle has been released.</summary>
    public bool IsDisposed => _handle.IsClosed;

    /// <summary>Releases the native handle. Safe to call more than once.</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>Moves this tensor from its dispose scope to the enclosing one (or out of all scopes) and returns it.</summary>
    public Tensor MoveToOuterScope() => OwningScope is { } scope ? scope.MoveToOuter(this) : this;

    /// <summary>Takes this tensor out of its dispose scope; the caller becomes responsible for disposing it.</summary>
    public Tensor DetachFromDisposeScope() => OwningScope is { } scope ? scope.Detach(this) : this;

    /// <summary>The number of dimensions.</summary>
    public int Dimensions => Native.mlnd_tensor_ndim(LiveHandle);

    /// <summary>The size of each dimension.</summary>
    public long[] Shape
    {
        get
        {
            var handle = LiveHandle;
            Span<long> buffer = stackalloc long[8];
            int ndim;
            fixed (long* p = buffer)
            {
                ndim = Native.mlnd_tensor_shape(handle, p, buffer.Length);
            }

            if (ndim <= buffer.Length)
            {
                return buffer[..ndim].ToArray();
            }

            var shape = new long[ndim];
            fixed (long* p = shape)
            {
                Native.mlnd_tensor_shape(handle, p, ndim);
            }

            return shape;
        }
    }

    /// <summary>The size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim)
    {
        var shape = Shape;
        var d = dim < 0 ? dim + shape.Length : dim;
        if (d < 0 || d >= shape.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"The tensor has {shape.Length} dimensions.");
        }

        return shape[d];
    }

    /// <summary>The number of elements.</summary>
    public long NumberOfElements => Native.mlnd_tensor_numel(LiveHandle);

    /// <summary>The element type.</summary>
    public ScalarType Dtype => (ScalarType)Native.mlnd_tensor_dtype(LiveHandle);

    /// <summary>The device holding the data.</summary>
    public Device Device
    {
        get
        {
            var handle = LiveHandle;
            return new Device((DeviceType)Native.mlnd_tensor_device_type(handle), Native.mlnd_tensor_device_index(handle));
        }
    }

    /// <summary>Whether the elements are laid out contiguously in row-major order.</summary>
    public bool IsContiguous => Native.mlnd_tensor_is_contiguous(LiveHandle) != 0;

    /// <summary>Copies the elements (row-major) into a new .NET array; <typeparamref name="T"/> must match <see cref="Dtype"/>.</summary>
    public T[] ToArray<T>()
        where T : unmanaged
    {
        var result = new T[checked((int)NumberOfElements)];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies the elements (row-major) into <paramref name="destination"/>, whose length must equal the element count.</summary>
    public void CopyTo<T>(Span<T> destination)
        where T : unmanaged
    {
        var expected = ScalarTypes.Of<T>();
        var actual = Dtype;
        if (expected != actual)
        {
            throw new InvalidOperationException(
                $"Cannot copy a {actual.Name()} tensor into {typeof(T).Name} elements; convert it first with To(ScalarType.{expected}).");
        }

        if (destination.Length != NumberOfElements)
        {
            throw new ArgumentException(
                $"The destination has {destination.Length} elements but the tensor has {NumberOfElements}.", nameof(destination));
        }

        fixed (T* p = destination)
        {
            LibTorch.Check(Native.mlnd_tensor_copy_to_host(LiveHandle, p, (long)destination.Length * sizeof(T)));
        }
    }

    /// <summary>The raw little-endian bytes of the elements (row-major), whatever the type.</summary>
    public byte[] ToBytes()
    {
        var handle = LiveHandle;
        var bytes = new byte[checked(NumberOfElements * Native.mlnd_tensor_element_size(handle))];
        fixed (byte* p = bytes)
        {
            LibTorch.Check(Native.mlnd_tensor_copy_to_host(handle, p, bytes.Length));
        }

        return bytes;
    }

    /// <summary>The value of a one-element tensor as a double.</summary>
    public double ToDouble()
    {
        LibTorch.Check(Native.mlnd_tensor_item(LiveHandle, out var value));
        return value;
    }

    /// <summary>The value of a one-element tensor as a float.</summary>
    public float ToSingle() => (float)ToDouble();

    /// <summary>The value of a one-element tensor as a long.</summary>
    public long ToInt64() => checked((long)ToDouble());

    /// <summary>The value of a one-element boolean tensor.</summary>
    public bool ToBoolean() => ToDouble() != 0;

    /// <summary>Shape, type, device and the first few values, e.g. <c>Tensor[2, 3] float32 cpu [0, 1, 2, 3, 4, 5]</c>.</summary>
    public override string ToString()
    {
        if (IsDisposed)
        {
            return "Tensor (disposed)";
        }

        const int Shown = 6;
        var text = new StringBuilder();
        text.Append("Tensor[").Append(string.Join(", ", Shape)).Append("] ").Append(Dtype.Name()).Append(' ').Append(Device);
        var count = NumberOfElements;
        double[] values;
        using (Autograd.NoGrad())
        using (var flat = Flatten())
        using (var head = flat.Slice(0, 0, Math.Min(count, Shown)))
        using (var asDouble = head.To(ScalarType.Float64))
        {
            values = asDouble.ToArray<double>();
        }

        text.Append(" [").Append(string.Join(", ", values.Select(v => v.ToString("G6", CultureInfo.InvariantCulture))));
        text.Append(count > Shown ? ", ...]" : "]");
        return text.ToString();
    }

    internal static Tensor FromBytes(ReadOnlySpan<byte> data, ScalarType dtype, long[] shape, Device device)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var size in shape)
        {
            if (size < 0)
            {
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative size.", nameof(shape));
            }
        }

        var elements = 1L;
        foreach (var size in shape)
        {
            elements = checked(elements * size);
        }

        var expected = checked(elements * dtype.ElementSize());
        if (expected != data.Length)
        {
            throw new ArgumentException(
                $"Shape [{string.Join(", ", shape)}] of {dtype.Name()} needs {expected} bytes ({elements} elements) but the data has {data.Length} bytes.",
                nameof(data));
        }

        device.EnsureAvailable();
        LibTorch.EnsureInitialised();
        fixed (byte* p = data)
        fixed (long* s = shape)
        {
            return LibTorch.Wrap(Native.mlnd_tensor_from_data(p, data.Length, (sbyte)dtype, s, shape.Length, (sbyte)device.Type, device.Index));
        }
    }

    internal static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape, Device device)
        where T : unmanaged =>
        FromBytes(MemoryMarshal.AsBytes(data), ScalarTypes.Of<T>(), shape, device);
}
