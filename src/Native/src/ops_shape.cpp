// Views, reshapes, joins, splits and indexing.
#include "mlnd.h"

#define MLND_SHAPE_OP(name, expr) \
  MLND_API TensorHandle mlnd_##name(TensorHandle t, const int64_t* dims, int32_t ndims) { MLND_RETURN_TENSOR(expr) }

MLND_SHAPE_OP(reshape, t->reshape(mlnd::dims(dims, ndims)))
MLND_SHAPE_OP(view, t->view(mlnd::dims(dims, ndims)))
MLND_SHAPE_OP(permute, t->permute(mlnd::dims(dims, ndims)))
MLND_SHAPE_OP(expand, t->expand(mlnd::dims(dims, ndims)))
MLND_SHAPE_OP(repeat, t->repeat(mlnd::dims(dims, ndims)))
MLND_SHAPE_OP(flip, t->flip(mlnd::dims(dims, ndims)))

MLND_API TensorHandle mlnd_transpose(TensorHandle t, int64_t dim0, int64_t dim1) { MLND_RETURN_TENSOR(t->transpose(dim0, dim1)) }
MLND_API TensorHandle mlnd_flatten(TensorHandle t, int64_t start, int64_t end) { MLND_RETURN_TENSOR(t->flatten(start, end)) }
MLND_API TensorHandle mlnd_unsqueeze(TensorHandle t, int64_t dim) { MLND_RETURN_TENSOR(t->unsqueeze(dim)) }
MLND_API TensorHandle mlnd_squeeze(TensorHandle t, int64_t dim) { MLND_RETURN_TENSOR(t->squeeze(dim)) }
MLND_API TensorHandle mlnd_squeeze_all(TensorHandle t) { MLND_RETURN_TENSOR(t->squeeze()) }

// Elements start, start+step, ... < end along dim (negative indices count from the end).
MLND_API TensorHandle mlnd_slice(TensorHandle t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  MLND_RETURN_TENSOR(t->slice(dim, start, end, step))
}
MLND_API TensorHandle mlnd_select(TensorHandle t, int64_t dim, int64_t index) { MLND_RETURN_TENSOR(t->select(dim, index)) }
MLND_API TensorHandle mlnd_narrow(TensorHandle t, int64_t dim, int64_t start, int64_t length) {
  MLND_RETURN_TENSOR(t->narrow(dim, start, length))
}
MLND_API TensorHandle mlnd_index_select(TensorHandle t, int64_t dim, TensorHandle index) {
  MLND_RETURN_TENSOR(at::index_select(*t, dim, *index))
}
MLND_API TensorHandle mlnd_gather(TensorHandle t, int64_t dim, TensorHandle index) {
  MLND_RETURN_TENSOR(at::gather(*t, dim, *index))
}

MLND_API TensorHandle mlnd_cat(TensorHandle* tensors, int32_t count, int64_t dim) {
  MLND_RETURN_TENSOR(at::cat(mlnd::list(tensors, count), dim))
}
MLND_API TensorHandle mlnd_stack(TensorHandle* tensors, int32_t count, int64_t dim) {
  MLND_RETURN_TENSOR(at::stack(mlnd::list(tensors, count), dim))
}

// Splits into at most `chunks` pieces along dim; writes up to `capacity` handles and returns the count (-1 on error).
MLND_API int32_t mlnd_chunk(TensorHandle t, int64_t chunks, int64_t dim, TensorHandle* out, int32_t capacity) {
  try {
    auto parts = t->chunk(chunks, dim);
    TORCH_CHECK(static_cast<int64_t>(parts.size()) <= capacity, "chunk: ", parts.size(), " parts exceed capacity ", capacity);
    for (size_t i = 0; i < parts.size(); ++i) out[i] = mlnd::wrap(parts[i]);
    return static_cast<int32_t>(parts.size());
  }
  MLND_CATCH(-1)
}
