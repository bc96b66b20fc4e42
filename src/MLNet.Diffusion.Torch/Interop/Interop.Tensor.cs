using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Torch.Interop;

/// <summary>Exports of the shim's tensor.cpp and factory.cpp.</summary>
internal static unsafe partial class Native
{
    [LibraryImport(Library)]
    internal static partial void mlnd_tensor_free(IntPtr t);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_ndim(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_shape(TensorHandle t, long* shape, int capacity);

    [LibraryImport(Library)]
    internal static partial long mlnd_tensor_numel(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial sbyte mlnd_tensor_dtype(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial sbyte mlnd_tensor_device_type(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_device_index(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_is_contiguous(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial long mlnd_tensor_element_size(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_tensor_from_data(void* data, long nbytes, sbyte dtype, long* shape, int ndim, sbyte deviceType, int deviceIndex);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_copy_to_host(TensorHandle t, void* data, long nbytes);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_item(TensorHandle t, out double value);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_tensor_to_dtype(TensorHandle t, sbyte dtype);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_tensor_to_device(TensorHandle t, sbyte deviceType, int deviceIndex, sbyte nonBlocking);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_tensor_clone(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_tensor_detach(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_tensor_contiguous(TensorHandle t, sbyte memoryFormat);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_set_data(TensorHandle t, TensorHandle source);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_copy_(TensorHandle t, TensorHandle source);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_fill_(TensorHandle t, double value);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_zero_(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_empty(long* shape, int ndim, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_zeros(long* shape, int ndim, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_ones(long* shape, int ndim, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_full(long* shape, int ndim, double value, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_arange(double start, double end, double step, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_linspace(double start, double end, long steps, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_rand(long* shape, int ndim, GeneratorHandle gen, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_randn(long* shape, int ndim, GeneratorHandle gen, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_randint(long low, long high, long* shape, int ndim, GeneratorHandle gen, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_randperm(long n, GeneratorHandle gen, sbyte dtype, sbyte deviceType, int deviceIndex, sbyte requiresGrad);

    [LibraryImport(Library)]
    internal static partial int mlnd_uniform_(TensorHandle t, double low, double high, GeneratorHandle gen);

    [LibraryImport(Library)]
    internal static partial int mlnd_normal_(TensorHandle t, double mean, double std, GeneratorHandle gen);
}
