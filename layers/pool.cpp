#include "layers/pool.h"

namespace kiln {

namespace {

Pool2dOptions square(int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode) {
    Pool2dOptions options;
    options.kernel = {kernel, kernel};
    if (stride > 0) options.stride = std::array<int64_t, 2>{stride, stride};
    options.padding = {padding, padding};
    options.ceil_mode = ceil_mode;
    return options;
}

std::string pool_repr(const Pool2dOptions& o) {
    return str("kernel_size=", tuple_str(o.kernel), ", stride=", tuple_str(o.stride.value_or(o.kernel)),
               ", padding=", tuple_str(o.padding), ", ceil_mode=", o.ceil_mode ? "True" : "False");
}

void check_window(const char* layer, const Pool2dOptions& o) {
    const auto stride = o.stride.value_or(o.kernel);
    KILN_CHECK(o.kernel[0] > 0 && o.kernel[1] > 0 && stride[0] > 0 && stride[1] > 0 && o.padding[0] >= 0 &&
                   o.padding[1] >= 0,
               layer, ": kernel ", tuple_str(o.kernel), " and stride ", tuple_str(stride),
               " must be positive, padding ", tuple_str(o.padding), " non-negative");
}

}  // namespace

MaxPool2d::MaxPool2d(const Pool2dOptions& options_) : Module("MaxPool2d"), options(options_) {
    check_window("MaxPool2d", options);
}
MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode)
    : MaxPool2d(square(kernel, stride, padding, ceil_mode)) {}
Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, options); }
std::string MaxPool2d::extra_repr() const { return pool_repr(options); }
int64_t MaxPool2d::forward_flops(const Shape&, const Shape& output) const {
    return numel_of(output) * options.kernel[0] * options.kernel[1];  // one comparison per window element
}

AvgPool2d::AvgPool2d(const Pool2dOptions& options_) : Module("AvgPool2d"), options(options_) {
    check_window("AvgPool2d", options);
}
AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode)
    : AvgPool2d(square(kernel, stride, padding, ceil_mode)) {}
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, options); }
std::string AvgPool2d::extra_repr() const { return pool_repr(options); }
int64_t AvgPool2d::forward_flops(const Shape&, const Shape& output) const {
    return numel_of(output) * options.kernel[0] * options.kernel[1];
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::array<int64_t, 2> output_size_)
    : Module("AdaptiveAvgPool2d"), output_size(output_size_) {
    KILN_CHECK(output_size[0] > 0 && output_size[1] > 0, "AdaptiveAvgPool2d: output_size ", tuple_str(output_size),
               " must be positive");
}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }
std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + tuple_str(output_size); }
int64_t AdaptiveAvgPool2d::forward_flops(const Shape& input, const Shape&) const {
    return numel_of(input);  // every input element is added once
}

}  // namespace kiln
