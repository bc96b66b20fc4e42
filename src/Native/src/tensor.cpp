// Tensor lifetime, metadata, creation from and copies to host memory, conversions.
#include "mlnd.h"

MLND_API void mlnd_tensor_free(TensorHandle t) {
  if (t) {
    delete t;
    mlnd::g_live_tensors.fetch_sub(1, std::memory_order_relaxed);
  }
}

MLND_API int32_t mlnd_tensor_ndim(TensorHandle t) { return static_cast<int32_t>(t->dim()); }

// Writes up to `capacity` sizes into `shape`; returns the number of dimensions.
MLND_API int32_t mlnd_tensor_shape(TensorHandle t, int64_t* shape, int32_t capacity) {
  auto sizes = t->sizes();
  for (int32_t i = 0; i < capacity && i < static_cast<int32_t>(sizes.size()); ++i) shape[i] = sizes[i];
  return static_cast<int32_t>(sizes.size());
}

MLND_API int64_t mlnd_tensor_numel(TensorHandle t) { return t->numel(); }

MLND_API int8_t mlnd_tensor_dtype(TensorHandle t) { return static_cast<int8_t>(t->scalar_type()); }

MLND_API int8_t mlnd_tensor_device_type(TensorHandle t) { return static_cast<int8_t>(t->device().type()); }

MLND_API int32_t mlnd_tensor_device_index(TensorHandle t) { return t->device().index(); }

MLND_API int32_t mlnd_tensor_is_contiguous(TensorHandle t) { return t->is_contiguous() ? 1 : 0; }

MLND_API int64_t mlnd_tensor_element_size(TensorHandle t) { return static_cast<int64_t>(t->element_size()); }

// A new tensor holding a copy of `nbytes` bytes of host memory, placed on the given device.
MLND_API TensorHandle mlnd_tensor_from_data(const void* data, int64_t nbytes, int8_t dtype, const int64_t* shape,
                                            int32_t ndim, int8_t device_type, int32_t device_index) {
  try {
    auto cpu = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
    auto sizes = mlnd::dims(shape, ndim);
    auto result = at::empty(sizes, cpu);
    auto expected = static_cast<int64_t>(result.numel() * result.element_size());
    TORCH_CHECK(expected == nbytes, "from_data: shape ", sizes, " of ", result.scalar_type(), " needs ", expected,
                " bytes but ", nbytes, " were given");
    if (nbytes > 0) std::memcpy(result.data_ptr(), data, static_cast<size_t>(nbytes));
    auto target = mlnd::device(device_type, device_index);
    return mlnd::wrap(target.is_cpu() ? result : result.to(target));
  }
  MLND_CATCH(nullptr)
}

// Copies the tensor's elements (row-major) into host memory of exactly `nbytes` bytes.
MLND_API int32_t mlnd_tensor_copy_to_host(TensorHandle t, void* data, int64_t nbytes) {
  try {
    auto cpu = t->detach().to(at::kCPU).contiguous();
    auto expected = static_cast<int64_t>(cpu.numel() * cpu.element_size());
    TORCH_CHECK(expected == nbytes, "copy_to_host: tensor of shape ", cpu.sizes(), " and type ", cpu.scalar_type(),
                " has ", expected, " bytes but the destination has ", nbytes);
    if (nbytes > 0) std::memcpy(data, cpu.data_ptr(), static_cast<size_t>(nbytes));
    return 0;
  }
  MLND_CATCH(-1)
}

MLND_API int32_t mlnd_tensor_item(TensorHandle t, double* value) { MLND_RETURN_STATUS(*value = t->item<double>()) }

MLND_API TensorHandle mlnd_tensor_to_dtype(TensorHandle t, int8_t dtype) {
  MLND_RETURN_TENSOR(t->to(static_cast<at::ScalarType>(dtype)))
}

MLND_API TensorHandle mlnd_tensor_to_device(TensorHandle t, int8_t device_type, int32_t device_index,
                                            int8_t non_blocking) {
  MLND_RETURN_TENSOR(t->to(mlnd::device(device_type, device_index), non_blocking != 0))
}

MLND_API TensorHandle mlnd_tensor_clone(TensorHandle t) { MLND_RETURN_TENSOR(t->clone()) }

MLND_API TensorHandle mlnd_tensor_detach(TensorHandle t) { MLND_RETURN_TENSOR(t->detach()) }

// memory_format: 0 = contiguous (NCHW), 1 = channels last (NHWC).
MLND_API TensorHandle mlnd_tensor_contiguous(TensorHandle t, int8_t memory_format) {
  MLND_RETURN_TENSOR(t->contiguous(memory_format == 1 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous))
}

// Replaces the storage of `t` with that of `source` (PyTorch's `param.data = ...`), keeping `t`'s identity.
MLND_API int32_t mlnd_tensor_set_data(TensorHandle t, TensorHandle source) { MLND_RETURN_STATUS(t->set_data(*source)) }

MLND_API int32_t mlnd_tensor_copy_(TensorHandle t, TensorHandle source) {
  MLND_RETURN_STATUS(t->copy_(*source))
}

MLND_API int32_t mlnd_tensor_fill_(TensorHandle t, double value) { MLND_RETURN_STATUS(t->fill_(value)) }

MLND_API int32_t mlnd_tensor_zero_(TensorHandle t) { MLND_RETURN_STATUS(t->zero_()) }
