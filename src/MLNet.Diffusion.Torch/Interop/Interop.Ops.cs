using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Torch.Interop;

/// <summary>Exports of the shim's ops_math.cpp and ops_shape.cpp.</summary>
internal static unsafe partial class Native
{
    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_neg(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_abs(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_sin(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_cos(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_exp(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_log(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_sqrt(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_rsqrt(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_square(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_tanh(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_sigmoid(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_floor(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_round(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_sign(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_reciprocal(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_erf(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_isnan(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_isfinite(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_logical_not(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_sum_all(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_mean_all(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_max_all(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_min_all(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_any_all(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_all_all(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_mul(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_div(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_matmul(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_pow_tensor(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_maximum(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_minimum(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_eq(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_ne(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_lt(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_le(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_gt(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_ge(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_logical_and(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_logical_or(TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_add_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_rsub_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_mul_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_div_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_rdiv_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_pow_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_eq_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_ne_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_lt_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_le_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_gt_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_ge_scalar(TensorHandle t, double s);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_reshape(TensorHandle t, long* dims, int ndims);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_view(TensorHandle t, long* dims, int ndims);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_permute(TensorHandle t, long* dims, int ndims);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_expand(TensorHandle t, long* dims, int ndims);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_repeat(TensorHandle t, long* dims, int ndims);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_flip(TensorHandle t, long* dims, int ndims);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_add(TensorHandle a, TensorHandle b, double alpha);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_sub(TensorHandle a, TensorHandle b, double alpha);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_clamp(TensorHandle t, sbyte hasMin, double min, sbyte hasMax, double max);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_where(TensorHandle condition, TensorHandle a, TensorHandle b);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_lerp(TensorHandle a, TensorHandle b, double weight);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_lerp_tensor(TensorHandle a, TensorHandle b, TensorHandle weight);

    [LibraryImport(Library)]
    internal static partial int mlnd_add_(TensorHandle a, TensorHandle b, double alpha);

    [LibraryImport(Library)]
    internal static partial int mlnd_mul_scalar_(TensorHandle a, double s);

    [LibraryImport(Library)]
    internal static partial int mlnd_lerp_(TensorHandle a, TensorHandle b, double weight);

    [LibraryImport(Library)]
    internal static partial int mlnd_clamp_(TensorHandle t, double min, double max);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_allclose(TensorHandle a, TensorHandle b, double rtol, double atol);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_sum(TensorHandle t, long* dims, int ndims, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_mean(TensorHandle t, long* dims, int ndims, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_amax(TensorHandle t, long* dims, int ndims, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_amin(TensorHandle t, long* dims, int ndims, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_var(TensorHandle t, long* dims, int ndims, sbyte unbiased, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_std(TensorHandle t, long* dims, int ndims, sbyte unbiased, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_quantile(TensorHandle t, double q, long dim, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_argmax(TensorHandle t, long dim, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_argmin(TensorHandle t, long dim, sbyte keepdim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_transpose(TensorHandle t, long dim0, long dim1);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_flatten(TensorHandle t, long start, long end);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_unsqueeze(TensorHandle t, long dim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_squeeze(TensorHandle t, long dim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_squeeze_all(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_slice(TensorHandle t, long dim, long start, long end, long step);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_select(TensorHandle t, long dim, long index);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_narrow(TensorHandle t, long dim, long start, long length);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_index_select(TensorHandle t, long dim, TensorHandle index);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_gather(TensorHandle t, long dim, TensorHandle index);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_cat(IntPtr* tensors, int count, long dim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_stack(IntPtr* tensors, int count, long dim);

    [LibraryImport(Library)]
    internal static partial int mlnd_chunk(TensorHandle t, long chunks, long dim, IntPtr* output, int capacity);
}
