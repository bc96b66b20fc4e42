// Optimiser updates done natively, one call per step over all parameters.
#include "mlnd.h"

// One AdamW step (Loshchilov & Hutter), the same sequence of in-place operations as PyTorch 1.13's
// single-tensor AdamW. steps[i] counts the updates of parameter i (PyTorch keeps one count per parameter);
// it is incremented here for every parameter that has a gradient, the others are skipped. State tensors
// (exp_avg, exp_avg_sq) are owned by the caller.
MLND_API int32_t mlnd_adamw_step(TensorHandle* params, TensorHandle* exp_avg, TensorHandle* exp_avg_sq, int64_t* steps,
                                 int32_t count, double lr, double beta1, double beta2, double eps,
                                 double weight_decay) {
  try {
    at::NoGradGuard no_grad;
    for (int32_t i = 0; i < count; ++i) {
      auto& param = *params[i];
      const auto& grad = param.grad();
      if (!grad.defined()) continue;
      const auto step = static_cast<double>(++steps[i]);
      const double bias_correction1 = 1.0 - std::pow(beta1, step);
      const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, step));
      param.mul_(1.0 - lr * weight_decay);
      exp_avg[i]->mul_(beta1).add_(grad, 1.0 - beta1);
      exp_avg_sq[i]->mul_(beta2).addcmul_(grad, grad, 1.0 - beta2);
      auto denom = (exp_avg_sq[i]->sqrt() / bias_correction2_sqrt).add_(eps);
      param.addcdiv_(*exp_avg[i], denom, -(lr / bias_correction1));
    }
    return 0;
  }
  MLND_CATCH(-1)
}

// Scales all gradients so that their joint L2 norm is at most max_norm (PyTorch's clip_grad_norm_).
// Returns the norm before clipping as a 0-dim tensor, so no device sync is forced here.
MLND_API TensorHandle mlnd_clip_grad_norm(TensorHandle* params, int32_t count, double max_norm) {
  try {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> norms;
    std::vector<at::Tensor> grads;
    for (int32_t i = 0; i < count; ++i) {
      const auto& g = params[i]->grad();
      if (!g.defined()) continue;
      grads.push_back(g);
      norms.push_back(at::norm(g.detach(), 2));
    }
    if (grads.empty()) return mlnd::wrap(at::zeros({}, at::kFloat));
    auto total = at::norm(at::stack(norms), 2);
    auto coef = at::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
    for (auto& g : grads) g.detach().mul_(coef.to(g.device()));
    return mlnd::wrap(total);
  }
  MLND_CATCH(nullptr)
}

// ema ← ema + (1 − decay)(param − ema) for each pair (an in-place lerp).
MLND_API int32_t mlnd_ema_update(TensorHandle* ema, TensorHandle* params, int32_t count, double decay) {
  try {
    at::NoGradGuard no_grad;
    for (int32_t i = 0; i < count; ++i) {
      if (ema[i]->is_floating_point()) {
        ema[i]->lerp_(params[i]->detach(), 1.0 - decay);
      } else {
        ema[i]->copy_(*params[i]);
      }
    }
    return 0;
  }
  MLND_CATCH(-1)
}
