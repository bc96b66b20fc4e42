// The functional neural-network operations a DDPM UNet (and the FID feature net) needs.
#include "mlnd.h"

// Pairs (stride, padding, ...) arrive as two-element arrays.
MLND_API TensorHandle mlnd_conv2d(TensorHandle input, TensorHandle weight, TensorHandle bias, const int64_t* stride,
                                  const int64_t* padding, const int64_t* dilation, int64_t groups) {
  MLND_RETURN_TENSOR(at::conv2d(*input, *weight, mlnd::opt(bias), mlnd::dims(stride, 2), mlnd::dims(padding, 2),
                                mlnd::dims(dilation, 2), groups))
}

MLND_API TensorHandle mlnd_conv_transpose2d(TensorHandle input, TensorHandle weight, TensorHandle bias,
                                            const int64_t* stride, const int64_t* padding,
                                            const int64_t* output_padding, int64_t groups, const int64_t* dilation) {
  MLND_RETURN_TENSOR(at::conv_transpose2d(*input, *weight, mlnd::opt(bias), mlnd::dims(stride, 2),
                                          mlnd::dims(padding, 2), mlnd::dims(output_padding, 2), groups,
                                          mlnd::dims(dilation, 2)))
}

MLND_API TensorHandle mlnd_linear(TensorHandle input, TensorHandle weight, TensorHandle bias) {
  MLND_RETURN_TENSOR(at::linear(*input, *weight, mlnd::opt(bias)))
}

MLND_API TensorHandle mlnd_group_norm(TensorHandle input, int64_t groups, TensorHandle weight, TensorHandle bias,
                                      double eps) {
  MLND_RETURN_TENSOR(at::group_norm(*input, groups, mlnd::opt(weight), mlnd::opt(bias), eps))
}

MLND_API TensorHandle mlnd_layer_norm(TensorHandle input, const int64_t* shape, int32_t ndims, TensorHandle weight,
                                      TensorHandle bias, double eps) {
  MLND_RETURN_TENSOR(at::layer_norm(*input, mlnd::dims(shape, ndims), mlnd::opt(weight), mlnd::opt(bias), eps))
}

MLND_API TensorHandle mlnd_silu(TensorHandle t) { MLND_RETURN_TENSOR(at::silu(*t)) }
MLND_API TensorHandle mlnd_relu(TensorHandle t) { MLND_RETURN_TENSOR(at::relu(*t)) }

// approximate: 0 = exact (erf), 1 = tanh approximation.
MLND_API TensorHandle mlnd_gelu(TensorHandle t, int8_t approximate) {
  MLND_RETURN_TENSOR(at::gelu(*t, approximate == 1 ? "tanh" : "none"))
}

MLND_API TensorHandle mlnd_softmax(TensorHandle t, int64_t dim) { MLND_RETURN_TENSOR(at::softmax(*t, dim)) }
MLND_API TensorHandle mlnd_log_softmax(TensorHandle t, int64_t dim) { MLND_RETURN_TENSOR(at::log_softmax(*t, dim)) }

MLND_API TensorHandle mlnd_dropout(TensorHandle t, double p, int8_t train) {
  MLND_RETURN_TENSOR(at::dropout(*t, p, train != 0))
}

// softmax(q kᵀ / √d + mask) v over the last two dimensions. A bool mask keeps positions where it is true.
// libtorch 2.x runs its fused kernel; 1.13 has none, so the same math is composed from matmul and softmax.
MLND_API TensorHandle mlnd_scaled_dot_product_attention(TensorHandle q, TensorHandle k, TensorHandle v,
                                                        TensorHandle mask, double dropout_p, int8_t is_causal) {
  try {
#if TORCH_VERSION_MAJOR >= 2
    return mlnd::wrap(at::scaled_dot_product_attention(*q, *k, *v, mlnd::opt(mask), dropout_p, is_causal != 0));
#else
    TORCH_CHECK(q->dim() >= 2 && k->dim() >= 2 && v->dim() >= 2,
                "scaled_dot_product_attention: query, key and value need at least 2 dimensions");
    auto scale = 1.0 / std::sqrt(static_cast<double>(q->size(-1)));
    auto scores = at::matmul(*q, k->transpose(-2, -1)) * scale;
    if (is_causal != 0) {
      auto keep = at::ones({q->size(-2), k->size(-2)}, q->options().dtype(at::kBool)).tril();
      scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
    }
    if (mask) {
      scores = mask->scalar_type() == at::kBool
                   ? scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity())
                   : scores + *mask;
    }
    auto weights = at::softmax(scores, -1);
    if (dropout_p > 0) weights = at::dropout(weights, dropout_p, true);
    return mlnd::wrap(at::matmul(weights, *v));
#endif
  }
  MLND_CATCH(nullptr)
}

// mode: 0 = nearest, 1 = bilinear. Output size (height, width).
MLND_API TensorHandle mlnd_interpolate(TensorHandle t, int64_t height, int64_t width, int8_t mode, int8_t align_corners) {
  try {
    namespace F = torch::nn::functional;
    auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width});
    if (mode == 1) {
      opts = opts.mode(torch::kBilinear).align_corners(align_corners != 0);
    } else {
      TORCH_CHECK(mode == 0, "interpolate: mode ", static_cast<int>(mode), " is not 0 (nearest) or 1 (bilinear)");
      opts = opts.mode(torch::kNearest);
    }
    return mlnd::wrap(F::interpolate(*t, opts));
  }
  MLND_CATCH(nullptr)
}

MLND_API TensorHandle mlnd_avg_pool2d(TensorHandle t, const int64_t* kernel, const int64_t* stride,
                                      const int64_t* padding) {
  MLND_RETURN_TENSOR(at::avg_pool2d(*t, mlnd::dims(kernel, 2), mlnd::dims(stride, 2), mlnd::dims(padding, 2)))
}

MLND_API TensorHandle mlnd_max_pool2d(TensorHandle t, const int64_t* kernel, const int64_t* stride,
                                      const int64_t* padding) {
  MLND_RETURN_TENSOR(at::max_pool2d(*t, mlnd::dims(kernel, 2), mlnd::dims(stride, 2), mlnd::dims(padding, 2)))
}

// reduction: 0 = none, 1 = mean, 2 = sum (at::Reduction).
MLND_API TensorHandle mlnd_mse_loss(TensorHandle input, TensorHandle target, int8_t reduction) {
  MLND_RETURN_TENSOR(at::mse_loss(*input, *target, reduction))
}

MLND_API TensorHandle mlnd_cross_entropy(TensorHandle logits, TensorHandle target, int8_t reduction) {
  MLND_RETURN_TENSOR(at::cross_entropy_loss(*logits, *target, c10::nullopt, reduction))
}

MLND_API TensorHandle mlnd_embedding(TensorHandle weight, TensorHandle indices) {
  MLND_RETURN_TENSOR(at::embedding(*weight, *indices))
}
