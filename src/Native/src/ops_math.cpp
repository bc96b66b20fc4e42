// Elementwise arithmetic, math functions, comparisons and reductions.
#include "mlnd.h"

#define MLND_UNARY(name, expr) \
  MLND_API TensorHandle mlnd_##name(TensorHandle t) { MLND_RETURN_TENSOR(expr) }
#define MLND_BINARY(name, expr) \
  MLND_API TensorHandle mlnd_##name(TensorHandle a, TensorHandle b) { MLND_RETURN_TENSOR(expr) }
#define MLND_SCALAR(name, expr) \
  MLND_API TensorHandle mlnd_##name(TensorHandle t, double s) { MLND_RETURN_TENSOR(expr) }

// a + alpha * b, a - alpha * b
MLND_API TensorHandle mlnd_add(TensorHandle a, TensorHandle b, double alpha) { MLND_RETURN_TENSOR(at::add(*a, *b, alpha)) }
MLND_API TensorHandle mlnd_sub(TensorHandle a, TensorHandle b, double alpha) { MLND_RETURN_TENSOR(at::sub(*a, *b, alpha)) }
MLND_BINARY(mul, at::mul(*a, *b))
MLND_BINARY(div, at::div(*a, *b))
MLND_BINARY(matmul, at::matmul(*a, *b))
MLND_BINARY(pow_tensor, at::pow(*a, *b))
MLND_BINARY(maximum, at::maximum(*a, *b))
MLND_BINARY(minimum, at::minimum(*a, *b))

MLND_SCALAR(add_scalar, at::add(*t, s))
MLND_SCALAR(rsub_scalar, at::rsub(*t, s))  // s - t
MLND_SCALAR(mul_scalar, at::mul(*t, s))
MLND_SCALAR(div_scalar, at::div(*t, s))
MLND_SCALAR(rdiv_scalar, at::mul(at::reciprocal(*t), s))  // s / t
MLND_SCALAR(pow_scalar, at::pow(*t, s))

MLND_UNARY(neg, at::neg(*t))
MLND_UNARY(abs, at::abs(*t))
MLND_UNARY(sin, at::sin(*t))
MLND_UNARY(cos, at::cos(*t))
MLND_UNARY(exp, at::exp(*t))
MLND_UNARY(log, at::log(*t))
MLND_UNARY(sqrt, at::sqrt(*t))
MLND_UNARY(rsqrt, at::rsqrt(*t))
MLND_UNARY(square, at::square(*t))
MLND_UNARY(tanh, at::tanh(*t))
MLND_UNARY(sigmoid, at::sigmoid(*t))
MLND_UNARY(floor, at::floor(*t))
MLND_UNARY(round, at::round(*t))
MLND_UNARY(sign, at::sign(*t))
MLND_UNARY(reciprocal, at::reciprocal(*t))
MLND_UNARY(erf, at::erf(*t))
MLND_UNARY(isnan, at::isnan(*t))
MLND_UNARY(isfinite, at::isfinite(*t))
MLND_UNARY(logical_not, at::logical_not(*t))

// clamp with optional bounds: has_min / has_max say which are given.
MLND_API TensorHandle mlnd_clamp(TensorHandle t, int8_t has_min, double min, int8_t has_max, double max) {
  MLND_RETURN_TENSOR(at::clamp(*t, has_min ? c10::optional<at::Scalar>(min) : c10::nullopt,
                               has_max ? c10::optional<at::Scalar>(max) : c10::nullopt))
}

MLND_API TensorHandle mlnd_where(TensorHandle condition, TensorHandle a, TensorHandle b) {
  MLND_RETURN_TENSOR(at::where(*condition, *a, *b))
}

// a + weight * (b - a), weight a scalar or a tensor.
MLND_API TensorHandle mlnd_lerp(TensorHandle a, TensorHandle b, double weight) { MLND_RETURN_TENSOR(at::lerp(*a, *b, weight)) }
MLND_API TensorHandle mlnd_lerp_tensor(TensorHandle a, TensorHandle b, TensorHandle weight) {
  MLND_RETURN_TENSOR(at::lerp(*a, *b, *weight))
}

// In-place updates used by optimisers and samplers.
MLND_API int32_t mlnd_add_(TensorHandle a, TensorHandle b, double alpha) { MLND_RETURN_STATUS(a->add_(*b, alpha)) }
MLND_API int32_t mlnd_mul_scalar_(TensorHandle a, double s) { MLND_RETURN_STATUS(a->mul_(s)) }
MLND_API int32_t mlnd_lerp_(TensorHandle a, TensorHandle b, double weight) { MLND_RETURN_STATUS(a->lerp_(*b, weight)) }
MLND_API int32_t mlnd_clamp_(TensorHandle t, double min, double max) { MLND_RETURN_STATUS(t->clamp_(min, max)) }

// Comparisons give bool tensors.
MLND_BINARY(eq, at::eq(*a, *b))
MLND_BINARY(ne, at::ne(*a, *b))
MLND_BINARY(lt, at::lt(*a, *b))
MLND_BINARY(le, at::le(*a, *b))
MLND_BINARY(gt, at::gt(*a, *b))
MLND_BINARY(ge, at::ge(*a, *b))
MLND_SCALAR(eq_scalar, at::eq(*t, s))
MLND_SCALAR(ne_scalar, at::ne(*t, s))
MLND_SCALAR(lt_scalar, at::lt(*t, s))
MLND_SCALAR(le_scalar, at::le(*t, s))
MLND_SCALAR(gt_scalar, at::gt(*t, s))
MLND_SCALAR(ge_scalar, at::ge(*t, s))
MLND_BINARY(logical_and, at::logical_and(*a, *b))
MLND_BINARY(logical_or, at::logical_or(*a, *b))
MLND_API TensorHandle mlnd_allclose(TensorHandle a, TensorHandle b, double rtol, double atol) {
  MLND_RETURN_TENSOR(at::scalar_tensor(at::allclose(*a, *b, rtol, atol) ? 1 : 0, at::kBool))
}

// Reductions over all elements, or over `dims` (ndims = 0 means all) with keepdim.
MLND_UNARY(sum_all, at::sum(*t))
MLND_UNARY(mean_all, at::mean(*t))
MLND_UNARY(max_all, at::max(*t))
MLND_UNARY(min_all, at::min(*t))
MLND_UNARY(any_all, at::any(*t))
MLND_UNARY(all_all, at::all(*t))
MLND_API TensorHandle mlnd_sum(TensorHandle t, const int64_t* dims, int32_t ndims, int8_t keepdim) {
  MLND_RETURN_TENSOR(at::sum(*t, mlnd::dims(dims, ndims), keepdim != 0))
}
MLND_API TensorHandle mlnd_mean(TensorHandle t, const int64_t* dims, int32_t ndims, int8_t keepdim) {
  MLND_RETURN_TENSOR(at::mean(*t, mlnd::dims(dims, ndims), keepdim != 0))
}
MLND_API TensorHandle mlnd_amax(TensorHandle t, const int64_t* dims, int32_t ndims, int8_t keepdim) {
  MLND_RETURN_TENSOR(at::amax(*t, mlnd::dims(dims, ndims), keepdim != 0))
}
MLND_API TensorHandle mlnd_amin(TensorHandle t, const int64_t* dims, int32_t ndims, int8_t keepdim) {
  MLND_RETURN_TENSOR(at::amin(*t, mlnd::dims(dims, ndims), keepdim != 0))
}
// Variance / standard deviation with Bessel's correction when unbiased != 0.
MLND_API TensorHandle mlnd_var(TensorHandle t, const int64_t* dims, int32_t ndims, int8_t unbiased, int8_t keepdim) {
  MLND_RETURN_TENSOR(ndims == 0 ? at::var(*t, unbiased != 0) : at::var(*t, mlnd::dims(dims, ndims), unbiased != 0, keepdim != 0))
}
MLND_API TensorHandle mlnd_std(TensorHandle t, const int64_t* dims, int32_t ndims, int8_t unbiased, int8_t keepdim) {
  MLND_RETURN_TENSOR(ndims == 0 ? at::std(*t, unbiased != 0) : at::std(*t, mlnd::dims(dims, ndims), unbiased != 0, keepdim != 0))
}
// The q-quantile along dim with linear interpolation (used by dynamic thresholding).
MLND_API TensorHandle mlnd_quantile(TensorHandle t, double q, int64_t dim, int8_t keepdim) {
  MLND_RETURN_TENSOR(at::quantile(*t, q, dim, keepdim != 0))
}
MLND_API TensorHandle mlnd_argmax(TensorHandle t, int64_t dim, int8_t keepdim) {
  MLND_RETURN_TENSOR(at::argmax(*t, dim, keepdim != 0))
}
MLND_API TensorHandle mlnd_argmin(TensorHandle t, int64_t dim, int8_t keepdim) {
  MLND_RETURN_TENSOR(at::argmin(*t, dim, keepdim != 0))
}
