using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Torch.Interop;

/// <summary>Exports of the shim's nn.cpp, autograd.cpp, optim.cpp and generator.cpp.</summary>
internal static unsafe partial class Native
{
    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_conv2d(TensorHandle input, TensorHandle weight, TensorHandle bias, long* stride, long* padding, long* dilation, long groups);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_conv_transpose2d(TensorHandle input, TensorHandle weight, TensorHandle bias, long* stride, long* padding, long* outputPadding, long groups, long* dilation);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_linear(TensorHandle input, TensorHandle weight, TensorHandle bias);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_group_norm(TensorHandle input, long groups, TensorHandle weight, TensorHandle bias, double eps);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_layer_norm(TensorHandle input, long* shape, int ndims, TensorHandle weight, TensorHandle bias, double eps);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_silu(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_relu(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_gelu(TensorHandle t, sbyte approximate);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_softmax(TensorHandle t, long dim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_log_softmax(TensorHandle t, long dim);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_dropout(TensorHandle t, double p, sbyte train);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_scaled_dot_product_attention(TensorHandle q, TensorHandle k, TensorHandle v, TensorHandle mask, double dropoutP, sbyte isCausal);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_interpolate(TensorHandle t, long height, long width, sbyte mode, sbyte alignCorners);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_avg_pool2d(TensorHandle t, long* kernel, long* stride, long* padding);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_max_pool2d(TensorHandle t, long* kernel, long* stride, long* padding);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_mse_loss(TensorHandle input, TensorHandle target, sbyte reduction);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_cross_entropy(TensorHandle logits, TensorHandle target, sbyte reduction);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_embedding(TensorHandle weight, TensorHandle indices);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_requires_grad(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_set_requires_grad(TensorHandle t, sbyte value);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_is_leaf(TensorHandle t);

    [LibraryImport(Library)]
    internal static partial int mlnd_backward(TensorHandle t, TensorHandle gradient, sbyte retainGraph);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_grad(TensorHandle t, out IntPtr grad);

    [LibraryImport(Library)]
    internal static partial int mlnd_tensor_zero_grad(TensorHandle t, sbyte setToNone);

    [LibraryImport(Library)]
    internal static partial int mlnd_set_grad_enabled(sbyte enabled);

    [LibraryImport(Library)]
    internal static partial int mlnd_is_grad_enabled();

    [LibraryImport(Library)]
    internal static partial IntPtr mlnd_inference_mode_enter();

    [LibraryImport(Library)]
    internal static partial void mlnd_inference_mode_exit(IntPtr guard);

    [LibraryImport(Library)]
    internal static partial int mlnd_adamw_step(IntPtr* parameters, IntPtr* expAvg, IntPtr* expAvgSq, long* steps, int count, double lr, double beta1, double beta2, double eps, double weightDecay);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_clip_grad_norm(IntPtr* parameters, int count, double maxNorm);

    [LibraryImport(Library)]
    internal static partial int mlnd_ema_update(IntPtr* ema, IntPtr* parameters, int count, double decay);

    [LibraryImport(Library)]
    internal static partial GeneratorHandle mlnd_generator_new(sbyte deviceType, int deviceIndex, ulong seed);

    [LibraryImport(Library)]
    internal static partial GeneratorHandle mlnd_generator_default(sbyte deviceType, int deviceIndex);

    [LibraryImport(Library)]
    internal static partial void mlnd_generator_free(IntPtr g);

    [LibraryImport(Library)]
    internal static partial int mlnd_generator_set_seed(GeneratorHandle g, ulong seed);

    [LibraryImport(Library)]
    internal static partial int mlnd_generator_get_seed(GeneratorHandle g, out ulong seed);

    [LibraryImport(Library)]
    internal static partial TensorHandle mlnd_generator_get_state(GeneratorHandle g);

    [LibraryImport(Library)]
    internal static partial int mlnd_generator_set_state(GeneratorHandle g, TensorHandle state);
}
