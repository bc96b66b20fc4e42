// Tensor factories (torch:: versions: unlike at:: they honour requires_grad). dtype and device are small integer codes: c10::ScalarType and c10::DeviceType values.
#include "mlnd.h"

#define MLND_OPTIONS mlnd::options(dtype, device_type, device_index, requires_grad)
#define MLND_OPTION_ARGS int8_t dtype, int8_t device_type, int32_t device_index, int8_t requires_grad

MLND_API TensorHandle mlnd_empty(const int64_t* shape, int32_t ndim, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::empty(mlnd::dims(shape, ndim), MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_zeros(const int64_t* shape, int32_t ndim, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::zeros(mlnd::dims(shape, ndim), MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_ones(const int64_t* shape, int32_t ndim, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::ones(mlnd::dims(shape, ndim), MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_full(const int64_t* shape, int32_t ndim, double value, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::full(mlnd::dims(shape, ndim), value, MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_arange(double start, double end, double step, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::arange(start, end, step, MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_linspace(double start, double end, int64_t steps, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::linspace(start, end, steps, MLND_OPTIONS))
}

// Random factories take an optional generator (null = the device's default generator).
MLND_API TensorHandle mlnd_rand(const int64_t* shape, int32_t ndim, GeneratorHandle gen, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::rand(mlnd::dims(shape, ndim), mlnd::opt(gen), MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_randn(const int64_t* shape, int32_t ndim, GeneratorHandle gen, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::randn(mlnd::dims(shape, ndim), mlnd::opt(gen), MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_randint(int64_t low, int64_t high, const int64_t* shape, int32_t ndim, GeneratorHandle gen,
                                   MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::randint(low, high, mlnd::dims(shape, ndim), mlnd::opt(gen), MLND_OPTIONS))
}

MLND_API TensorHandle mlnd_randperm(int64_t n, GeneratorHandle gen, MLND_OPTION_ARGS) {
  MLND_RETURN_TENSOR(torch::randperm(n, mlnd::opt(gen), MLND_OPTIONS))
}

// In-place random fills, used by layer initialisers.
MLND_API int32_t mlnd_uniform_(TensorHandle t, double low, double high, GeneratorHandle gen) {
  MLND_RETURN_STATUS(t->uniform_(low, high, mlnd::opt(gen)))
}

MLND_API int32_t mlnd_normal_(TensorHandle t, double mean, double std, GeneratorHandle gen) {
  MLND_RETURN_STATUS(t->normal_(mean, std, mlnd::opt(gen)))
}
