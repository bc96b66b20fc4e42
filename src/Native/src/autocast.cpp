// Automatic mixed precision: libtorch's autocast switches, per device type (cpu = 0, cuda = 1).
// libtorch 2.4 replaced the per-device function names with functions taking the device type.
#include "mlnd.h"
#include <ATen/autocast_mode.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MLND_AUTOCAST_BY_DEVICE 1
#endif

namespace {
at::DeviceType checked_device(int8_t device_type) {
  auto type = static_cast<at::DeviceType>(device_type);
  TORCH_CHECK(type == at::kCPU || type == at::kCUDA, "autocast: device type ", static_cast<int>(device_type),
              " is not cpu (0) or cuda (1)");
  return type;
}
}  // namespace

// Whether autocast is on for the device type: 1 or 0, or -1 on error.
MLND_API int32_t mlnd_autocast_is_enabled(int8_t device_type) {
  try {
    auto type = checked_device(device_type);
#ifdef MLND_AUTOCAST_BY_DEVICE
    return at::autocast::is_autocast_enabled(type) ? 1 : 0;
#else
    return (type == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled()) ? 1 : 0;
#endif
  }
  MLND_CATCH(-1)
}

MLND_API int32_t mlnd_autocast_set_enabled(int8_t device_type, int8_t enabled) {
  try {
    auto type = checked_device(device_type);
#ifdef MLND_AUTOCAST_BY_DEVICE
    at::autocast::set_autocast_enabled(type, enabled != 0);
#else
    if (type == at::kCPU) {
      at::autocast::set_cpu_enabled(enabled != 0);
    } else {
      at::autocast::set_enabled(enabled != 0);
    }
#endif
    return 0;
  }
  MLND_CATCH(-1)
}

// The lower-precision type autocast casts to (a c10::ScalarType code), or -1 on error.
MLND_API int32_t mlnd_autocast_get_dtype(int8_t device_type) {
  try {
    auto type = checked_device(device_type);
#ifdef MLND_AUTOCAST_BY_DEVICE
    return static_cast<int32_t>(at::autocast::get_autocast_dtype(type));
#else
    return static_cast<int32_t>(type == at::kCPU ? at::autocast::get_autocast_cpu_dtype()
                                                 : at::autocast::get_autocast_gpu_dtype());
#endif
  }
  MLND_CATCH(-1)
}

MLND_API int32_t mlnd_autocast_set_dtype(int8_t device_type, int8_t dtype) {
  try {
    auto type = checked_device(device_type);
    auto scalar = static_cast<at::ScalarType>(dtype);
#ifdef MLND_AUTOCAST_BY_DEVICE
    at::autocast::set_autocast_dtype(type, scalar);
#else
    if (type == at::kCPU) {
      at::autocast::set_autocast_cpu_dtype(scalar);
    } else {
      at::autocast::set_autocast_gpu_dtype(scalar);
    }
#endif
    return 0;
  }
  MLND_CATCH(-1)
}

// Entering and leaving an autocast region, as torch.autocast does: the cast cache is cleared when the
// outermost region ends.
MLND_API int32_t mlnd_autocast_increment_nesting() { return at::autocast::increment_nesting(); }

MLND_API int32_t mlnd_autocast_decrement_nesting() {
  auto depth = at::autocast::decrement_nesting();
  if (depth == 0) at::autocast::clear_cache();
  return depth;
}
