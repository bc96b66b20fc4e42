// The error channel and process-wide queries: version, threads, live tensor count.
#include "mlnd.h"

namespace mlnd {
std::atomic<int64_t> g_live_tensors{0};

namespace {
thread_local std::string t_last_error;
}

void set_error(const char* message) { t_last_error = message ? message : "(no message)"; }

const char* last_error() { return t_last_error.c_str(); }

std::vector<at::Tensor> list(TensorHandle* handles, int32_t count) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(count < 0 ? 0 : count));
  for (int32_t i = 0; i < count; ++i) {
    out.push_back(*handles[i]);
  }
  return out;
}
}  // namespace mlnd

// The message of the last failed call on this thread; valid until the next failure on this thread.
MLND_API const char* mlnd_last_error() { return mlnd::last_error(); }

MLND_API int64_t mlnd_live_tensors() { return mlnd::g_live_tensors.load(std::memory_order_relaxed); }

// "major.minor.patch" of the libtorch the shim was compiled against.
MLND_API const char* mlnd_torch_version() {
  static const std::string version = std::to_string(TORCH_VERSION_MAJOR) + "." +
                                     std::to_string(TORCH_VERSION_MINOR) + "." +
                                     std::to_string(TORCH_VERSION_PATCH);
  return version.c_str();
}

MLND_API int32_t mlnd_get_num_threads() { return static_cast<int32_t>(at::get_num_threads()); }

MLND_API int32_t mlnd_set_num_threads(int32_t threads) { MLND_RETURN_STATUS(at::set_num_threads(threads)) }

MLND_API int32_t mlnd_cuda_is_available() { return torch::cuda::is_available() ? 1 : 0; }

MLND_API int32_t mlnd_cuda_device_count() { return static_cast<int32_t>(torch::cuda::device_count()); }

MLND_API int32_t mlnd_cuda_synchronize(int32_t index) { MLND_RETURN_STATUS(torch::cuda::synchronize(index)) }

MLND_API int32_t mlnd_manual_seed(uint64_t seed) { MLND_RETURN_STATUS(torch::manual_seed(seed)) }
