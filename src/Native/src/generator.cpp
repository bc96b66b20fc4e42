// Random number generators: explicit ones (CPU, and CUDA on CUDA builds) and the per-device defaults.
#include "mlnd.h"
#include <ATen/CPUGeneratorImpl.h>
#ifdef MLND_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

MLND_API GeneratorHandle mlnd_generator_new(int8_t device_type, int32_t device_index, uint64_t seed) {
  try {
    auto dev = mlnd::device(device_type, device_index);
    at::Generator gen;
    if (dev.is_cpu()) {
      gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    } else if (dev.is_cuda()) {
#ifdef MLND_WITH_CUDA
      gen = at::cuda::detail::createCUDAGenerator(dev.has_index() ? dev.index() : 0);
      gen.set_current_seed(seed);
#else
      TORCH_CHECK(false, "CUDA generators need a CUDA build of the shim; this one was built against a CPU libtorch");
#endif
    } else {
      TORCH_CHECK(false, "generators are supported on cpu and cuda, not ", dev);
    }
    return new at::Generator(std::move(gen));
  }
  MLND_CATCH(nullptr)
}

// The device's default generator (shared with libtorch; seeded by mlnd_manual_seed).
MLND_API GeneratorHandle mlnd_generator_default(int8_t device_type, int32_t device_index) {
  try {
    return new at::Generator(at::globalContext().defaultGenerator(mlnd::device(device_type, device_index)));
  }
  MLND_CATCH(nullptr)
}

MLND_API void mlnd_generator_free(GeneratorHandle g) { delete g; }

MLND_API int32_t mlnd_generator_set_seed(GeneratorHandle g, uint64_t seed) {
  try {
    std::lock_guard<std::mutex> lock(g->mutex());
    g->set_current_seed(seed);
    return 0;
  }
  MLND_CATCH(-1)
}

MLND_API int32_t mlnd_generator_get_seed(GeneratorHandle g, uint64_t* seed) {
  try {
    std::lock_guard<std::mutex> lock(g->mutex());
    *seed = g->current_seed();
    return 0;
  }
  MLND_CATCH(-1)
}

// The generator's full state as a uint8 tensor (for checkpoints).
MLND_API TensorHandle mlnd_generator_get_state(GeneratorHandle g) {
  try {
    std::lock_guard<std::mutex> lock(g->mutex());
    return mlnd::wrap(g->get_state());
  }
  MLND_CATCH(nullptr)
}

MLND_API int32_t mlnd_generator_set_state(GeneratorHandle g, TensorHandle state) {
  try {
    std::lock_guard<std::mutex> lock(g->mutex());
    g->set_state(*state);
    return 0;
  }
  MLND_CATCH(-1)
}
