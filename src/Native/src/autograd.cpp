// Autograd: leaf flags, backward, gradients, and the grad / inference mode switches.
#include "mlnd.h"

MLND_API int32_t mlnd_tensor_requires_grad(TensorHandle t) { return t->requires_grad() ? 1 : 0; }

// Python refuses to switch off requires_grad on a non-leaf (the C++ API silently keeps it); so do we.
MLND_API int32_t mlnd_tensor_set_requires_grad(TensorHandle t, int8_t value) {
  try {
    TORCH_CHECK(value != 0 || t->is_leaf(),
                "you can only change requires_grad flags of leaf variables; use detach() to get a tensor that does "
                "not require gradients");
    t->set_requires_grad(value != 0);
    return 0;
  }
  MLND_CATCH(-1)
}

MLND_API int32_t mlnd_tensor_is_leaf(TensorHandle t) { return t->is_leaf() ? 1 : 0; }

// gradient may be null for a scalar output.
MLND_API int32_t mlnd_backward(TensorHandle t, TensorHandle gradient, int8_t retain_graph) {
  MLND_RETURN_STATUS(t->backward(mlnd::or_undefined(gradient), retain_graph != 0))
}

// Stores the gradient handle in *out, or null when the tensor has none; returns -1 on error.
MLND_API int32_t mlnd_tensor_grad(TensorHandle t, TensorHandle* out) {
  try {
    const auto& g = t->grad();
    *out = g.defined() ? mlnd::wrap(g) : nullptr;
    return 0;
  }
  MLND_CATCH(-1)
}

// set_to_none != 0 drops the gradient (PyTorch's default); otherwise zeroes it in place.
MLND_API int32_t mlnd_tensor_zero_grad(TensorHandle t, int8_t set_to_none) {
  try {
    auto& g = t->mutable_grad();
    if (set_to_none != 0) {
      g.reset();
    } else if (g.defined()) {
      g.detach_();
      g.zero_();
    }
    return 0;
  }
  MLND_CATCH(-1)
}

// Enables or disables gradient recording on this thread; returns the previous setting.
MLND_API int32_t mlnd_set_grad_enabled(int8_t enabled) {
  auto previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(enabled != 0);
  return previous ? 1 : 0;
}

MLND_API int32_t mlnd_is_grad_enabled() { return c10::GradMode::is_enabled() ? 1 : 0; }

// Inference mode is a scoped guard in libtorch; C# holds it for the length of a using block on one thread.
MLND_API void* mlnd_inference_mode_enter() {
  try {
    return new c10::InferenceMode(true);
  }
  MLND_CATCH(nullptr)
}

MLND_API void mlnd_inference_mode_exit(void* guard) { delete static_cast<c10::InferenceMode*>(guard); }
