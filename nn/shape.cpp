// Flatten and Unflatten: checked reshapes.
#include "nn/shape.h"

namespace tg::nn {

Tensor FlattenImpl::forward(const Tensor& x) { return x.flatten(options.start_dim(), options.end_dim()); }

std::string FlattenImpl::extra_repr() const {
  return "start_dim=" + std::to_string(options.start_dim()) + ", end_dim=" + std::to_string(options.end_dim());
}

UnflattenImpl::UnflattenImpl(const UnflattenOptions& opts) : Module("Unflatten"), options(opts) {
  TG_CHECK(!options.sizes().empty(), "Unflatten", "sizes must not be empty");
  for (int64_t s : options.sizes())
    TG_CHECK(s > 0, "Unflatten", "sizes must be positive, got ", shape_str(options.sizes()));
}

Tensor UnflattenImpl::forward(const Tensor& x) {
  const int64_t d = wrap_dim(options.dim(), x.dim(), "Unflatten");
  TG_CHECK(numel_of(options.sizes()) == x.size(d), "Unflatten", "sizes ", shape_str(options.sizes()),
           " multiply to ", numel_of(options.sizes()), " but dim ", options.dim(), " of ", x.str(),
           " has size ", x.size(d));
  Shape shape(x.shape().begin(), x.shape().begin() + d);
  shape.insert(shape.end(), options.sizes().begin(), options.sizes().end());
  shape.insert(shape.end(), x.shape().begin() + d + 1, x.shape().end());
  return x.reshape(shape);
}

std::string UnflattenImpl::extra_repr() const {
  std::string s = "dim=" + std::to_string(options.dim()) + ", unflattened_size=(";
  const Shape& sizes = options.sizes();
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + (sizes.size() == 1 ? ",)" : ")");
}

}  // namespace tg::nn
