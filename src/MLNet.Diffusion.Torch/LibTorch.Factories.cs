using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>Tensor factories. Device defaults to the CPU and element type to float32, as in PyTorch.</summary>
public static unsafe partial class LibTorch
{
    /// <summary>A tensor copied from .NET data, with the element type of <typeparamref name="T"/>.</summary>
    public static Tensor FromArray<T>(T[] data, long[] shape, Device? device = null)
        where T : unmanaged =>
        Tensor.FromSpan<T>(data, shape, device ?? Device.Cpu);

    /// <summary>A one-dimensional tensor copied from .NET data.</summary>
    public static Tensor FromArray<T>(T[] data, Device? device = null)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        return Tensor.FromSpan<T>(data, [data.Length], device ?? Device.Cpu);
    }

    /// <summary>A tensor copied from .NET data in a span.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape, Device? device = null)
        where T : unmanaged =>
        Tensor.FromSpan(data, shape, device ?? Device.Cpu);

    /// <summary>A tensor from raw little-endian bytes of the given element type (any type, bfloat16 included).</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> data, ScalarType dtype, long[] shape, Device? device = null) =>
        Tensor.FromBytes(data, dtype, shape, device ?? Device.Cpu);

    /// <summary>A zero-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Full([], value, dtype, device);

    /// <summary>Uninitialised memory.</summary>
    public static Tensor Empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false) =>
        Create(&Native.mlnd_empty, shape, dtype, device, requiresGrad);

    /// <summary>All zeros.</summary>
    public static Tensor Zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false) =>
        Create(&Native.mlnd_zeros, shape, dtype, device, requiresGrad);

    /// <summary>All ones.</summary>
    public static Tensor Ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false) =>
        Create(&Native.mlnd_ones, shape, dtype, device, requiresGrad);

    /// <summary>Every element set to <paramref name="value"/>.</summary>
    public static Tensor Full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = Prepare(shape, device);
        fixed (long* p = shape)
        {
            return Wrap(Native.mlnd_full(p, shape.Length, value, (sbyte)dtype, (sbyte)d.Type, d.Index, Tensor.Flag(requiresGrad)));
        }
    }

    /// <summary>Integers <paramref name="start"/>, start+step, ... below <paramref name="end"/> (int64 by default).</summary>
    public static Tensor Arange(long start, long end, long step = 1, ScalarType dtype = ScalarType.Int64, Device? device = null) =>
        ArangeCore(start, end, step, dtype, device);

    /// <summary>Integers 0 .. <paramref name="end"/> − 1.</summary>
    public static Tensor Arange(long end, ScalarType dtype = ScalarType.Int64, Device? device = null) => ArangeCore(0, end, 1, dtype, device);

    /// <summary>Values <paramref name="start"/>, start+step, ... below <paramref name="end"/> (float32 by default).</summary>
    public static Tensor Arange(double start, double end, double step, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        ArangeCore(start, end, step, dtype, device);

    /// <summary><paramref name="steps"/> evenly spaced values from <paramref name="start"/> to <paramref name="end"/> inclusive.</summary>
    public static Tensor Linspace(double start, double end, long steps, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var d = Prepare([], device);
        return Wrap(Native.mlnd_linspace(start, end, steps, (sbyte)dtype, (sbyte)d.Type, d.Index, 0));
    }

    /// <summary>Uniform samples in [0, 1), from <paramref name="generator"/> or the device's default generator.</summary>
    public static Tensor Rand(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        CreateRandom(&Native.mlnd_rand, shape, generator, dtype, device);

    /// <summary>Standard normal samples, from <paramref name="generator"/> or the device's default generator.</summary>
    public static Tensor Randn(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        CreateRandom(&Native.mlnd_randn, shape, generator, dtype, device);

    /// <summary>Uniform integers in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static Tensor RandInt(long low, long high, long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        if (high <= low)
        {
            throw new ArgumentException($"RandInt needs low < high; got low = {low}, high = {high}.", nameof(high));
        }

        var d = Prepare(shape, device);
        fixed (long* p = shape)
        {
            return Wrap(Native.mlnd_randint(low, high, p, shape.Length, GeneratorArg(generator), (sbyte)dtype, (sbyte)d.Type, d.Index, 0));
        }
    }

    /// <summary>A random permutation of 0 .. <paramref name="n"/> − 1 (int64).</summary>
    public static Tensor RandPerm(long n, Generator? generator = null, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var d = Prepare([], device);
        return Wrap(Native.mlnd_randperm(n, GeneratorArg(generator), (sbyte)ScalarType.Int64, (sbyte)d.Type, d.Index, 0));
    }

    /// <summary>Zeros with the shape, type and device of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Zeros(Shape(like), like.Dtype, like.Device);

    /// <summary>Ones with the shape, type and device of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Ones(Shape(like), like.Dtype, like.Device);

    /// <summary><paramref name="value"/> with the shape, type and device of <paramref name="like"/>.</summary>
    public static Tensor FullLike(Tensor like, double value) => Full(Shape(like), value, like.Dtype, like.Device);

    /// <summary>Uniform samples with the shape, type and device of <paramref name="like"/>.</summary>
    public static Tensor RandLike(Tensor like, Generator? generator = null) => Rand(Shape(like), generator, like.Dtype, like.Device);

    /// <summary>Normal samples with the shape, type and device of <paramref name="like"/>.</summary>
    public static Tensor RandnLike(Tensor like, Generator? generator = null) => Randn(Shape(like), generator, like.Dtype, like.Device);

    /// <summary>Joins tensors along an existing dimension.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(&Native.mlnd_cat, tensors, dim);

    /// <summary>Joins tensors along a new dimension.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(&Native.mlnd_stack, tensors, dim);

    /// <summary>Elementwise choice: <paramref name="a"/> where <paramref name="condition"/> is true, else <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) =>
        Wrap(Native.mlnd_where(Tensor.Arg(condition), Tensor.Arg(a), Tensor.Arg(b)));

    internal static GeneratorHandle GeneratorArg(Generator? generator) => generator is null ? GeneratorHandle.Null : generator.LiveHandle;

    private static long[] Shape(Tensor like) => (like ?? throw new ArgumentNullException(nameof(like))).Shape;

    private static Device Prepare(long[] shape, Device? device)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var size in shape)
        {
            if (size < 0)
            {
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative size.", nameof(shape));
            }
        }

        var d = device ?? Device.Cpu;
        d.EnsureAvailable();
        EnsureInitialised();
        return d;
    }

    private static Tensor Create(delegate*<long*, int, sbyte, sbyte, int, sbyte, TensorHandle> op, long[] shape, ScalarType dtype, Device? device, bool requiresGrad)
    {
        var d = Prepare(shape, device);
        fixed (long* p = shape)
        {
            return Wrap(op(p, shape.Length, (sbyte)dtype, (sbyte)d.Type, d.Index, Tensor.Flag(requiresGrad)));
        }
    }

    private static Tensor CreateRandom(delegate*<long*, int, GeneratorHandle, sbyte, sbyte, int, sbyte, TensorHandle> op, long[] shape, Generator? generator, ScalarType dtype, Device? device)
    {
        var d = Prepare(shape, device);
        fixed (long* p = shape)
        {
            return Wrap(op(p, shape.Length, GeneratorArg(generator), (sbyte)dtype, (sbyte)d.Type, d.Index, 0));
        }
    }

    private static Tensor ArangeCore(double start, double end, double step, ScalarType dtype, Device? device)
    {
        if (step == 0)
        {
            throw new ArgumentException("Arange needs a non-zero step.", nameof(step));
        }

        var d = Prepare([], device);
        return Wrap(Native.mlnd_arange(start, end, step, (sbyte)dtype, (sbyte)d.Type, d.Index, 0));
    }

    private static Tensor Join(delegate*<IntPtr*, int, long, TensorHandle> op, IReadOnlyList<Tensor> tensors, long dim)
    {
        var handles = Handles(tensors, nameof(tensors));
        if (handles.Length == 0)
        {
            throw new ArgumentException("Need at least one tensor to join.", nameof(tensors));
        }

        fixed (IntPtr* p = handles)
        {
            var result = Wrap(op(p, handles.Length, dim));
            GC.KeepAlive(tensors);
            return result;
        }
    }
}
