// Shared definitions of the shim: the export macro, the error channel, handle helpers.
//
// Rules (docs/DESIGN: "The native shim"): every export is extern "C", prefixed mlnd_, takes
// fixed-width integers and opaque handles, and catches every C++ exception at the boundary.
// A failing export returns a null handle or -1 and leaves the message in a thread-local slot
// that the C# side reads with mlnd_last_error().
#pragma once
#include "pch.h"

#define MLND_API extern "C" __attribute__((visibility("default")))

using TensorHandle = at::Tensor*;
using GeneratorHandle = at::Generator*;

namespace mlnd {

void set_error(const char* message);

// Every tensor handed to C# goes through wrap(), so the live count is exact.
extern std::atomic<int64_t> g_live_tensors;

inline TensorHandle wrap(at::Tensor t) {
  auto* h = new at::Tensor(std::move(t));
  g_live_tensors.fetch_add(1, std::memory_order_relaxed);
  return h;
}

inline at::IntArrayRef dims(const int64_t* data, int32_t length) {
  return at::IntArrayRef(data, static_cast<size_t>(length < 0 ? 0 : length));
}

inline c10::optional<at::Tensor> opt(TensorHandle h) {
  return h ? c10::optional<at::Tensor>(*h) : c10::nullopt;
}

inline at::Tensor or_undefined(TensorHandle h) { return h ? *h : at::Tensor(); }

inline c10::optional<at::Generator> opt(GeneratorHandle g) {
  return g ? c10::optional<at::Generator>(*g) : c10::nullopt;
}

inline at::Device device(int8_t type, int32_t index) {
  return at::Device(static_cast<c10::DeviceType>(type), static_cast<c10::DeviceIndex>(index));
}

inline at::TensorOptions options(int8_t dtype, int8_t device_type, int32_t device_index, int8_t requires_grad = 0) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(device(device_type, device_index))
      .requires_grad(requires_grad != 0);
}

std::vector<at::Tensor> list(TensorHandle* handles, int32_t count);

}  // namespace mlnd

#define MLND_CATCH(failure)                                          \
  catch (const c10::Error& e) {                                      \
    mlnd::set_error(e.what_without_backtrace());                     \
  }                                                                  \
  catch (const std::exception& e) {                                  \
    mlnd::set_error(e.what());                                       \
  }                                                                  \
  catch (...) {                                                      \
    mlnd::set_error("unknown native exception in the libtorch shim"); \
  }                                                                  \
  return failure;

// Body of an export that returns a new tensor.
#define MLND_RETURN_TENSOR(expr) \
  try {                          \
    return mlnd::wrap(expr);     \
  }                              \
  MLND_CATCH(nullptr)

// Body of an export that returns a status: 0 on success, -1 on error.
#define MLND_RETURN_STATUS(stmt) \
  try {                          \
    stmt;                        \
    return 0;                    \
  }                              \
  MLND_CATCH(-1)
