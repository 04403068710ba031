// bench_kernels: kiln's hand-written CUDA kernels against cuDNN and cuBLAS on
// the layers of ResNet-18 and MobileNetV2 at 128x128 and 224x224 inputs,
// forward and backward, and every SGEMM kernel version against cuBLAS.
//
//   build/bench/bench_kernels                     # on a GPU: validate, then time; table + CSV + JSON
//   build/bench/bench_kernels --batch 64 --sizes 224 --ops conv,gemm --out results/h100
//   build/bench/bench_kernels --device emu        # (the default without a GPU) correctness only
//
// For every case, in the manner of llm.c's validate_result: run the
// hand-written kernel and the reference once, compare the outputs
// (max |hand - reference| <= tolerance x max |reference|, the first mismatches
// printed), and only then time it. The reference is the vendor routine on a
// GPU (the cpu kernels where this build has no vendor routine for the op),
// and the cpu kernels on emu. A case that fails validation is not timed, and
// the program exits with status 1.
//
// Columns: median time of one call (CUDA events, after a warm-up), the
// hand-written speed as a fraction of the vendor's (vendor ms / hand ms: 0.9
// means 90 % of cuDNN's speed), achieved GFLOP/s or GB/s (whichever bound the
// roofline says applies: compute when flops / peak FLOP/s > bytes / peak
// bandwidth), and % of the roofline = the roofline's time for the case's
// flops and bytes / the measured time. Peaks come from the device's
// attributes (FP32 lanes per SM x SMs x 2 x clock; 2 x memory clock x bus
// width). Bytes are each operand read once and each output written once
// (twice for outputs that a backward adds into): the least traffic possible.
//
// On emu (the SIMT emulator, no GPU) the same harness validates the
// hand-written kernels against cpu on shrunken shapes (batch 2, at most 16
// channels and 17x17 pixels, each distinct shrunk layer once) and prints no
// timings: the emulator's times say nothing about a GPU.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bench/net_layers.h"
#include "engine/backend.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "engine/vendor.h"

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using kiln::Device;
using kiln::DType;
using kiln::Shape;
using kiln::Tensor;
using kiln::VendorOp;
using kiln::bench::Layer;
using kiln::math::Conv2dPass;
using kiln::math::Conv2dShape;
using kiln::math::Pool2dGeometry;
using kiln::math::UnaryOp;

// Validation tolerances, relative to the largest magnitude of the reference.
// GPU vs vendor: cuDNN's FFT and Winograd algorithms round differently from
// a direct sum (~1e-4 relative on K = 4608 terms); other ops sum the same
// terms in another order.
constexpr double gpu_conv_tolerance = 1e-3;
constexpr double gpu_tolerance = 1e-4;
// emu vs cpu, float32: as tests/emu/test_ops_on_emu.cpp, with room for the
// longer sums of the GEMM-based passes.
constexpr double emu_tolerance = 1e-4;
constexpr int mismatches_shown = 5;  // as llm.c: the first few, then stop listing
// emu's shapes: small enough that the whole run takes seconds, odd so that no
// size is a multiple of a tile, batch 2 so that batch strides are exercised.
constexpr int64_t emu_batch = 2, emu_max_channels = 16, emu_max_pixels = 17;

// ---- the device and its roofline ----------------------------------------------------------------

struct Roofline {
    std::string name;
    double gflops = 0, gbytes_per_s = 0;  // peak FP32 FLOP/s and DRAM bandwidth, in G/s
};

#if KILN_HAVE_CUDA
void check_cuda(cudaError_t status, const char* what) {
    if (status != cudaSuccess) kiln::fail("bench_kernels: ", what, ": ", cudaGetErrorString(status));
}

// FP32 lanes per SM by compute capability (NVIDIA's tuning guides): 64 on
// Volta and A100 (sm_70, sm_80), 128 on consumer Ampere, Ada, Hopper, Blackwell.
int fp32_lanes_per_sm(int major, int minor) {
    if (major == 7 || (major == 8 && minor == 0)) return 64;
    return major >= 8 ? 128 : 64;
}

Roofline cuda_roofline() {
    cudaDeviceProp properties{};
    check_cuda(cudaGetDeviceProperties(&properties, 0), "cudaGetDeviceProperties");
    int clock_khz = 0, memory_clock_khz = 0, bus_bits = 0;
    check_cuda(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0), "clock rate");
    check_cuda(cudaDeviceGetAttribute(&memory_clock_khz, cudaDevAttrMemoryClockRate, 0), "memory clock");
    check_cuda(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0), "bus width");
    Roofline r;
    r.name = properties.name;
    r.gflops = double(properties.multiProcessorCount) * fp32_lanes_per_sm(properties.major, properties.minor) * 2 *
               clock_khz * 1e3 / 1e9;
    r.gbytes_per_s = 2.0 * memory_clock_khz * 1e3 * bus_bits / 8 / 1e9;  // double data rate
    return r;
}
#endif

bool gpu_available() {
    try {
        (void)Tensor::zeros({1}, DType::float32, Device::cuda(0));
        return true;
    } catch (const kiln::Error&) {
        return false;
    }
}

// ---- cases --------------------------------------------------------------------------------------

// One side of a comparison: `run` computes `outputs` from buffers on one
// device. Backward kernels add into their outputs: validation zeroes them first.
struct Side {
    std::function<void()> run;
    std::vector<Tensor> outputs;
    std::string kernel;  // what ran: "im2col", "IMPLICIT_PRECOMP_GEMM", "cpu", ...
};

struct Case {
    std::string op, net, input, layer, pass, shape;
    double flops = 0, bytes = 0, tolerance = 0;
    Side hand, reference;
    bool reference_is_vendor = false;
    // filled in by the harness
    bool valid = false;
    double max_error = 0, scale = 0, hand_ms = NAN, vendor_ms = NAN;
};

struct Settings {
    Device device = Device::cpu();  // where the hand-written kernels run: cuda or emu
    int64_t batch = 32;
    std::vector<int64_t> sizes{128, 224};
    std::set<std::string> ops{"conv", "batch_norm", "pool", "activation", "gemm"};
    std::string out = "bench_kernels";
    bool gpu() const { return device.kind == Device::Kind::cuda; }
    // The reference for `op`: the vendor routine on a GPU when built, else cpu.
    bool vendor_reference(VendorOp op) const { return gpu() && kiln::vendor_built(op); }
    Device reference_device(VendorOp op) const { return vendor_reference(op) ? device : Device::cpu(); }
};

template <typename T = float>
T* data(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

std::string shape_text(const Shape& shape) { return kiln::shape_str(shape); }

// The hand-written conv workspace of `pass` on device d (as engine/ops/conv.cpp).
Tensor conv_workspace(Device d, const Conv2dShape& s, Conv2dPass pass) {
    int64_t size = 0;
    switch (d.kind) {
        case Device::Kind::cpu: size = kiln::cpu::conv2d_workspace_size<float>(s, pass); break;
        case Device::Kind::emu: size = kiln::emu::conv2d_workspace_size(s, pass); break;
        case Device::Kind::cuda:
#if KILN_HAVE_CUDA
            size = kiln::cuda::conv2d_workspace_size(s, pass);
#endif
            break;
    }
    return size > 0 ? Tensor::empty({size}, DType::float32, d) : Tensor();
}

const char* pass_name(Conv2dPass pass) {
    switch (pass) {
        case Conv2dPass::forward: return "forward";
        case Conv2dPass::backward_input: return "backward data";
        case Conv2dPass::backward_weight: return "backward filter";
    }
    return "?";
}

std::string vendor_conv_algorithm(const Conv2dShape& s, Conv2dPass pass) {
#if KILN_HAVE_CUDNN
    const kiln::vendor::Conv2dChoice choice = kiln::vendor::conv2d_choice<float>(s, pass);
    return "cuDNN " + choice.algorithm;
#else
    (void)s, (void)pass;
    return "cuDNN";
#endif
}

// Three cases per layer: forward, backward data, backward filter.
void add_conv_cases(std::vector<Case>& cases, const Settings& settings, const std::string& net, int64_t input,
                    const Layer& l, int64_t batch) {
    const int64_t pad = l.kernel / 2;
    const int64_t out = (l.size + 2 * pad - l.kernel) / l.stride + 1;
    const Conv2dShape s{batch,    l.in_channels, l.size,   l.size,   l.out_channels, l.kernel, l.kernel, l.groups,
                        l.stride, l.stride,      pad,      pad,      1,              1,        out,      out};
    const Tensor x = Tensor::randn({batch, l.in_channels, l.size, l.size});
    const Tensor w = Tensor::randn({l.out_channels, l.in_channels / l.groups, l.kernel, l.kernel}) * 0.1;
    const Tensor dy = Tensor::randn({batch, l.out_channels, out, out});
    const double flops = 2.0 * double(batch * l.out_channels * out * out) *
                         double(l.in_channels / l.groups * l.kernel * l.kernel);
    const double x_bytes = 4.0 * double(x.numel()), w_bytes = 4.0 * double(w.numel()), y_bytes = 4.0 * double(dy.numel());
    const bool vendor = settings.vendor_reference(VendorOp::conv);
    const Device reference_device = settings.reference_device(VendorOp::conv);
    const std::string hand_kernel = kiln::math::conv2d_algorithm_name(kiln::math::conv2d_algorithm(s));
    for (Conv2dPass pass : {Conv2dPass::forward, Conv2dPass::backward_input, Conv2dPass::backward_weight}) {
        // The pass on device d, hand-written (or cpu) or vendor.
        const auto side = [&](Device d, bool use_vendor) {
            const Tensor xd = x.to(d), wd = w.to(d), dyd = dy.to(d);
            const Tensor result = Tensor::zeros(pass == Conv2dPass::forward          ? dy.shape()
                                                : pass == Conv2dPass::backward_input ? x.shape()
                                                                                     : w.shape(),
                                                DType::float32, d);
            Side out_side;
            out_side.outputs = {result};
            if (use_vendor) {
                out_side.kernel = vendor_conv_algorithm(s, pass);
                out_side.run = [=] {
                    if (pass == Conv2dPass::forward)
                        KILN_ON_CUDNN(conv2d_forward, data(result), data(xd), data(wd), static_cast<const float*>(nullptr), s);
                    else if (pass == Conv2dPass::backward_input)
                        KILN_ON_CUDNN(conv2d_backward_input, data(result), data(dyd), data(wd), s);
                    else
                        KILN_ON_CUDNN(conv2d_backward_weight, data(result), data(dyd), data(xd), s);
                };
                return out_side;
            }
            const Tensor workspace = conv_workspace(d, s, pass);
            out_side.kernel = d.kind == Device::Kind::cpu ? "cpu" : hand_kernel;
            out_side.run = [=] {
                if (pass == Conv2dPass::forward)
                    KILN_ON_BACKEND(d, conv2d_forward, data(result), data(xd), data(wd), static_cast<const float*>(nullptr), s,
                                    data(workspace));
                else if (pass == Conv2dPass::backward_input)
                    KILN_ON_BACKEND(d, conv2d_backward_input, data(result), data(dyd), data(wd), s, data(workspace));
                else
                    KILN_ON_BACKEND(d, conv2d_backward_weight, data(result), data(dyd), data(xd), s, data(workspace));
            };
            return out_side;
        };
        Case c;
        c.op = "conv2d";
        c.net = net;
        c.input = std::to_string(input);
        c.layer = l.name;
        c.pass = pass_name(pass);
        c.shape = kiln::str(shape_text(x.shape()), " * ", shape_text(w.shape()), " /", l.stride);
        c.flops = flops;
        c.bytes = pass == Conv2dPass::forward          ? x_bytes + w_bytes + y_bytes
                  : pass == Conv2dPass::backward_input ? y_bytes + w_bytes + 2 * x_bytes
                                                       : y_bytes + x_bytes + 2 * w_bytes;
        c.tolerance = settings.gpu() ? gpu_conv_tolerance : emu_tolerance;
        c.hand = side(settings.device, false);
        c.reference = side(reference_device, vendor);
        c.reference_is_vendor = vendor;
        cases.push_back(std::move(c));
    }
}

// Batch norm over a conv's output [N, C, S]: training forward, backward; and
// the same fused with the relu that follows it (batch_norm_relu: one kernel
// writes max(0, bn(x)), the backward masks dy with y > 0 as it reads it)
// against batch norm followed by the activation as separate calls: cuDNN's
// batch norm then cuDNN's relu on a GPU (kernels/cuda/vendor/batch_norm.h),
// the cpu batch norm then the cpu relu on emu.
void add_batch_norm_cases(std::vector<Case>& cases, const Settings& settings, const std::string& net, int64_t input,
                          const std::string& layer, int64_t N, int64_t C, int64_t S) {
    using kiln::math::BatchNormActivation;
    const Tensor x = Tensor::randn({N, C, S}) * 2 + 1, weight = Tensor::randn({C}), bias = Tensor::randn({C});
    const Tensor dy = Tensor::randn({N, C, S});
    const bool vendor = settings.vendor_reference(VendorOp::batch_norm) && settings.vendor_reference(VendorOp::activation);
    const Device reference_device = vendor ? settings.device : Device::cpu();
    const double tensor_bytes = 4.0 * double(x.numel());
    const kiln::math::UnaryParams relu_params;
    constexpr double momentum = 0.1, eps = 1e-5;
    for (BatchNormActivation activation : {BatchNormActivation::none, BatchNormActivation::relu}) {
        const bool fused = activation == BatchNormActivation::relu;
        for (bool forward : {true, false}) {
            // hand: the kernels with `activation`; reference: vendor (or cpu) batch norm, then (fused) the relu as its own call
            const auto side = [&](Device d, bool is_reference) {
                const bool use_vendor = is_reference && vendor;
                const Tensor xd = x.to(d), wd = weight.to(d), bd = bias.to(d), dyd = dy.to(d);
                const Tensor y = Tensor::zeros(x.shape(), DType::float32, d);
                const Tensor mean = Tensor::zeros({C}, DType::float32, d), rstd = Tensor::zeros({C}, DType::float32, d);
                const Tensor dx = Tensor::zeros(x.shape(), DType::float32, d);
                const Tensor dweight = Tensor::zeros({C}, DType::float32, d), dbias = Tensor::zeros({C}, DType::float32, d);
                // the reference's dz = dy relu'(y) between its two backward calls
                const Tensor dz = fused && is_reference && !use_vendor ? Tensor::zeros(x.shape(), DType::float32, d) : Tensor();
                const int64_t n = x.numel();
                // The training forward; the backward needs its mean, rstd (and y).
                const std::function<void()> run_forward = [=] {
                    if (use_vendor) {  // cuDNN batch norm, then (fused) cuDNN's relu in place
                        KILN_ON_CUDNN(batch_norm_forward_training, data(y), data(mean), data(rstd),
                                      static_cast<float*>(nullptr), static_cast<float*>(nullptr), data(xd), data(wd),
                                      data(bd), N, C, S, momentum, eps, activation);
                        return;
                    }
                    KILN_ON_BACKEND(d, batch_norm_batch_statistics, data(mean), data(rstd), static_cast<float*>(nullptr),
                                    static_cast<float*>(nullptr), data(xd), N, C, S, momentum, eps);
                    if (!fused || !is_reference) {
                        KILN_ON_BACKEND(d, batch_norm_forward, data(y), data(xd), data(mean), data(rstd), data(wd),
                                        data(bd), N, C, S, activation);
                        return;
                    }
                    KILN_ON_BACKEND(d, batch_norm_forward, data(y), data(xd), data(mean), data(rstd), data(wd), data(bd),
                                    N, C, S, BatchNormActivation::none);
                    KILN_ON_BACKEND(d, unary_forward, UnaryOp::relu, relu_params, data(y), data(y), n);
                };
                Side out_side;
                out_side.kernel = use_vendor ? (fused ? "cuDNN bn + activation" : "cuDNN")
                                  : d.kind == Device::Kind::cpu ? (fused ? "cpu bn + relu" : "cpu")
                                                                : (fused ? "fused two-pass" : "two-pass");
                if (forward) {
                    out_side.run = run_forward;
                    out_side.outputs = {y, mean, rstd};
                    return out_side;
                }
                run_forward();
                out_side.outputs = {dx, dweight, dbias};
                if (use_vendor)  // (fused) cuDNN's relu backward into scratch, then cuDNN's batch norm backward
                    out_side.run = [=] {
                        KILN_ON_CUDNN(batch_norm_backward, data(dx), data(dweight), data(dbias), data(dyd), data(xd),
                                      data(y), data(mean), data(rstd), data(wd), N, C, S, true, activation);
                    };
                else if (fused && is_reference)  // relu backward into dz (added: zeroed first), then batch norm backward
                    out_side.run = [=] {
                        Tensor(dz).fill_(0);
                        KILN_ON_BACKEND(d, unary_backward, UnaryOp::relu, relu_params, data(dz), data(dyd), data(y),
                                        data(y), n);
                        KILN_ON_BACKEND(d, batch_norm_backward, data(dx), data(dweight), data(dbias), data(dz), data(xd),
                                        static_cast<float*>(nullptr), data(mean), data(rstd), data(wd), N, C, S, true,
                                        BatchNormActivation::none);
                    };
                else
                    out_side.run = [=] {
                        KILN_ON_BACKEND(d, batch_norm_backward, data(dx), data(dweight), data(dbias), data(dyd), data(xd),
                                        data(y), data(mean), data(rstd), data(wd), N, C, S, true, activation);
                    };
                return out_side;
            };
            Case c;
            c.op = fused ? "batch_norm_relu" : "batch_norm";
            c.net = net;
            c.input = std::to_string(input);
            c.layer = layer;
            c.pass = forward ? "forward (training)" : "backward";
            c.shape = shape_text({N, C, S});
            c.flops = (forward ? 6.0 : 10.0) * double(x.numel()) + (fused ? double(x.numel()) : 0);  // memory-bound
            // fwd: x, y;  bwd: x, dy, dx (written), and y for the relu mask
            c.bytes = forward ? 2 * tensor_bytes : (fused ? 4 : 3) * tensor_bytes;
            c.tolerance = settings.gpu() ? gpu_tolerance : emu_tolerance;
            c.hand = side(settings.device, false);
            c.reference = side(reference_device, true);
            c.reference_is_vendor = vendor;
            cases.push_back(std::move(c));
        }
    }
}

// Max pooling (ResNet-18's stem) or average pooling over the whole plane (the
// global pool before both nets' classifier), forward and backward.
void add_pool_cases(std::vector<Case>& cases, const Settings& settings, const std::string& net, int64_t input,
                    const std::string& layer, bool max_pool, int64_t N, int64_t C, int64_t size, int64_t kernel,
                    int64_t stride, int64_t pad) {
    const int64_t out = (size + 2 * pad - kernel) / stride + 1;
    const Pool2dGeometry g{N * C, size, size, out, out, kernel, kernel, stride, stride, pad, pad};
    const Tensor x = Tensor::randn({N, C, size, size}), dy = Tensor::randn({N, C, out, out});
    const bool vendor = settings.vendor_reference(VendorOp::pool);
    const Device reference_device = settings.reference_device(VendorOp::pool);
    for (bool forward : {true, false}) {
        const auto side = [&](Device d, bool use_vendor) {
            const Tensor xd = x.to(d), dyd = dy.to(d);
            const Tensor y = Tensor::zeros(dy.shape(), DType::float32, d), dx = Tensor::zeros(x.shape(), DType::float32, d);
            const Tensor argmax = Tensor::zeros(dy.shape(), DType::int64, d);
            const std::function<void()> run_forward = [=] {
                if (use_vendor && max_pool)
                    KILN_ON_CUDNN(max_pool2d_forward, data(y), data(xd), g);
                else if (use_vendor)
                    KILN_ON_CUDNN(avg_pool2d_forward, data(y), data(xd), g, true);
                else if (max_pool)
                    KILN_ON_BACKEND(d, max_pool2d_forward, data(y), data<int64_t>(argmax), data(xd), g);
                else
                    KILN_ON_BACKEND(d, avg_pool2d_forward, data(y), data(xd), g, true);
            };
            Side out_side;
            out_side.kernel = use_vendor ? "cuDNN" : d.kind == Device::Kind::cpu ? "cpu" : "gather";
            if (forward) {
                out_side.run = run_forward;
                out_side.outputs = {y};
                return out_side;
            }
            run_forward();  // y and argmax for the backward
            out_side.outputs = {dx};
            out_side.run = [=] {
                if (use_vendor && max_pool)
                    KILN_ON_CUDNN(max_pool2d_backward, data(dx), data(dyd), data(xd), data(y), g);
                else if (use_vendor)
                    KILN_ON_CUDNN(avg_pool2d_backward, data(dx), data(dyd), data(xd), data(y), g, true);
                else if (max_pool)
                    KILN_ON_BACKEND(d, max_pool2d_backward, data(dx), data(dyd), data<int64_t>(argmax), g);
                else
                    KILN_ON_BACKEND(d, avg_pool2d_backward, data(dx), data(dyd), g, true);
            };
            return out_side;
        };
        Case c;
        c.op = max_pool ? "max_pool2d" : "avg_pool2d";
        c.net = net;
        c.input = std::to_string(input);
        c.layer = layer;
        c.pass = forward ? "forward" : "backward";
        c.shape = kiln::str(shape_text(x.shape()), " ", kernel, "x", kernel, "/", stride);
        c.flops = double(x.numel()) * (max_pool ? double(kernel * kernel) / double(stride * stride) : 1);
        c.bytes = 4.0 * (forward ? double(x.numel() + dy.numel()) : double(dy.numel() + 2 * x.numel()));
        c.tolerance = settings.gpu() ? gpu_tolerance : emu_tolerance;
        c.hand = side(settings.device, false);
        c.reference = side(reference_device, vendor);
        c.reference_is_vendor = vendor;
        cases.push_back(std::move(c));
    }
}

// relu over a conv output, forward and backward.
void add_activation_cases(std::vector<Case>& cases, const Settings& settings, const std::string& net, int64_t input,
                          const std::string& layer, const Shape& shape) {
    const Tensor x = Tensor::randn(shape), dy = Tensor::randn(shape);
    const int64_t n = x.numel();
    const bool vendor = settings.vendor_reference(VendorOp::activation);
    const Device reference_device = settings.reference_device(VendorOp::activation);
    const kiln::math::UnaryParams params;
    for (bool forward : {true, false}) {
        const auto side = [&](Device d, bool use_vendor) {
            const Tensor xd = x.to(d), dyd = dy.to(d);
            const Tensor y = Tensor::zeros(shape, DType::float32, d), dx = Tensor::zeros(shape, DType::float32, d);
            Side out_side;
            out_side.kernel = use_vendor ? "cuDNN" : d.kind == Device::Kind::cpu ? "cpu" : "elementwise";
            const std::function<void()> run_forward = [=] {
                if (use_vendor)
                    KILN_ON_CUDNN(unary_forward, UnaryOp::relu, params, data(y), data(xd), n);
                else
                    KILN_ON_BACKEND(d, unary_forward, UnaryOp::relu, params, data(y), data(xd), n);
            };
            if (forward) {
                out_side.run = run_forward;
                out_side.outputs = {y};
                return out_side;
            }
            run_forward();
            out_side.outputs = {dx};
            out_side.run = [=] {
                if (use_vendor)
                    KILN_ON_CUDNN(unary_backward, UnaryOp::relu, params, data(dx), data(dyd), data(xd), data(y), n);
                else
                    KILN_ON_BACKEND(d, unary_backward, UnaryOp::relu, params, data(dx), data(dyd), data(xd), data(y), n);
            };
            return out_side;
        };
        Case c;
        c.op = "relu";
        c.net = net;
        c.input = std::to_string(input);
        c.layer = layer;
        c.pass = forward ? "forward" : "backward";
        c.shape = shape_text(shape);
        c.flops = double(n);
        c.bytes = 4.0 * double(n) * (forward ? 2 : 4);  // fwd: x, y;  bwd: dy, x, dx (added into)
        c.tolerance = settings.gpu() ? gpu_tolerance : emu_tolerance;
        c.hand = side(settings.device, false);
        c.reference = side(reference_device, vendor);
        c.reference_is_vendor = vendor;
        cases.push_back(std::move(c));
    }
}

// The SGEMM progression of kernels/cuda/gemm.cu (GemmKernel), in order.
const char* const gemm_versions[] = {"naive", "shared_tiles", "register_blocking"};

// C = A @ B with hand-written version `version` on device d.
void hand_gemm(Device d, int version, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
    switch (d.kind) {
        case Device::Kind::emu:
            kiln::emu::gemm_with(kiln::emu::GemmKernel(version), false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
            return;
        case Device::Kind::cuda:
#if KILN_HAVE_CUDA
            kiln::cuda::gemm_with(kiln::cuda::GemmKernel(version), false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
#endif
            return;
        case Device::Kind::cpu: kiln::cpu::gemm(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N); return;
    }
}

// Every SGEMM version on M x N x K (and, with batch > 1, a strided batch of
// them, the hand-written default kernel looping over the batch).
void add_gemm_cases(std::vector<Case>& cases, const Settings& settings, const std::string& layer, int64_t M, int64_t N,
                    int64_t K, int64_t batch) {
    const Tensor a = Tensor::randn({batch, M, K}), b = Tensor::randn({batch, K, N});
    const bool vendor = settings.vendor_reference(VendorOp::gemm);
    const Device reference_device = settings.reference_device(VendorOp::gemm);
    const int default_version = int(kiln::emu::default_gemm_kernel);
    for (int version = 0; version < int(std::size(gemm_versions)); ++version) {
        if (batch > 1 && version != default_version) continue;
        const auto side = [&](Device d, bool use_vendor, bool hand) {
            const Tensor ad = a.to(d), bd = b.to(d), c = Tensor::zeros({batch, M, N}, DType::float32, d);
            Side out_side;
            out_side.outputs = {c};
            if (use_vendor) {
                out_side.kernel = batch > 1 ? "cuBLAS strided batched" : "cuBLAS";
                out_side.run = [=] {
                    if (batch > 1)
                        KILN_ON_CUBLAS(gemm_strided_batched, false, false, M, N, K, 1.0f, data(ad), K, M * K, data(bd), N,
                                       K * N, 0.0f, data(c), N, M * N, batch);
                    else
                        KILN_ON_CUBLAS(gemm, false, false, M, N, K, 1.0f, data(ad), K, data(bd), N, 0.0f, data(c), N);
                };
                return out_side;
            }
            const int v = hand ? version : 0;
            out_side.kernel = d.kind == Device::Kind::cpu ? "cpu (OpenBLAS)"
                                                          : std::string(gemm_versions[v]) + (batch > 1 ? " (loop)" : "");
            out_side.run = [=] {
                for (int64_t i = 0; i < batch; ++i)
                    hand_gemm(d, v, M, N, K, data(ad) + i * M * K, data(bd) + i * K * N, data(c) + i * M * N);
            };
            return out_side;
        };
        Case c;
        c.op = batch > 1 ? "sgemm_strided_batched" : "sgemm";
        c.net = "-";
        c.input = "-";
        c.layer = layer;
        c.pass = "forward";
        c.shape = batch > 1 ? kiln::str(batch, " x ", M, "x", N, "x", K) : kiln::str(M, "x", N, "x", K);
        c.flops = 2.0 * double(batch * M * N * K);
        c.bytes = 4.0 * double(batch * (M * K + K * N + M * N));
        c.tolerance = settings.gpu() ? gpu_tolerance : emu_tolerance;
        c.hand = side(settings.device, false, true);
        c.reference = side(reference_device, vendor, false);
        c.reference_is_vendor = vendor;
        cases.push_back(std::move(c));
    }
}

// On emu: a layer shrunk to batch 2, at most 16 channels and 17x17 pixels,
// keeping its kernel, stride and kind (depthwise stays depthwise).
Layer shrunk(Layer l) {
    const int64_t multiplier = l.groups > 1 ? l.out_channels / l.in_channels : 1;
    l.in_channels = std::min<int64_t>(l.in_channels, emu_max_channels);
    l.out_channels = l.groups > 1 ? l.in_channels * multiplier : std::min<int64_t>(l.out_channels, emu_max_channels);
    if (l.groups > 1) l.groups = l.in_channels;
    l.size = std::min<int64_t>(l.size, emu_max_pixels);
    return l;
}

// Builds a few cases (and their device buffers) when called: cases are built,
// run and released one builder at a time, so the 224x224 layers' buffers never
// coexist.
using CaseBuilder = std::function<void(std::vector<Case>&)>;

std::vector<CaseBuilder> case_builders(const Settings& settings) {
    std::vector<CaseBuilder> builders;
    // defer(f, args...): a builder that calls f(cases, settings, args...) later
    const auto defer = [&](auto add, auto... args) {
        builders.push_back([&settings, add, args...](std::vector<Case>& cases) { add(cases, settings, args...); });
    };
    const bool emu = !settings.gpu();
    const int64_t batch = emu ? emu_batch : settings.batch;
    const std::vector<int64_t> sizes = emu ? std::vector<int64_t>{128} : settings.sizes;
    const auto wanted = [&](const char* family) { return settings.ops.count(family) > 0; };
    std::set<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>> seen;  // emu: distinct shrunk layers
    for (int64_t input : sizes) {
        const std::pair<const char*, std::vector<Layer>> nets[] = {
            {"resnet18", std::vector<Layer>(std::begin(kiln::bench::resnet18), std::end(kiln::bench::resnet18))},
            {"mobilenet_v2", std::vector<Layer>(std::begin(kiln::bench::mobilenet_v2), std::end(kiln::bench::mobilenet_v2))},
        };
        std::set<std::tuple<int64_t, int64_t>> normalised;  // (channels, pixels) already given a BN / relu case
        for (const auto& [net, layers] : nets) {
            for (Layer layer : layers) {
                layer = emu ? shrunk(layer) : kiln::bench::at_input(layer, input);
                if (emu && !seen.insert({layer.in_channels, layer.size, layer.out_channels, layer.kernel, layer.stride,
                                         layer.groups})
                                .second)
                    continue;
                if (wanted("conv")) defer(add_conv_cases, net, input, layer, batch);
                // every conv is followed by batch norm (and most by an activation) over its output
                const int64_t out = (layer.size + 2 * (layer.kernel / 2) - layer.kernel) / layer.stride + 1;
                if (!normalised.insert({layer.out_channels, out}).second) continue;
                if (wanted("batch_norm"))
                    defer(add_batch_norm_cases, net, input, std::string(layer.name) + " bn", batch,
                          layer.out_channels, out * out);
                if (wanted("activation"))
                    defer(add_activation_cases, net, input, std::string(layer.name) + " relu",
                          Shape{batch, layer.out_channels, out, out});
            }
        }
        if (wanted("pool")) {
            const int64_t stem = emu ? emu_max_pixels : input / 2;  // ResNet-18's max pool follows the 7x7/2 stem
            defer(add_pool_cases, "resnet18", input, "r18.maxpool 3x3/2", true, batch,
                  emu ? emu_max_channels : 64, stem, 3, 2, 1);
            const int64_t last = emu ? 5 : input / 32;  // the global average pool before the classifier
            defer(add_pool_cases, "resnet18", input, "r18.avgpool global", false, batch,
                  emu ? emu_max_channels : 512, last, last, last, 0);
            defer(add_pool_cases, "mobilenet_v2", input, "mv2.avgpool global", false, batch,
                  emu ? emu_max_channels : 1280, last, last, last, 0);
        }
    }
    if (wanted("gemm")) {
        if (emu) {
            defer(add_gemm_cases, "odd sizes", 67, 45, 93, 1);
            defer(add_gemm_cases, "square", 64, 64, 64, 1);
            defer(add_gemm_cases, "odd sizes, larger", 129, 131, 127, 1);
            defer(add_gemm_cases, "strided batched", 19, 23, 17, 3);
        } else {
            for (int64_t n : {1024, 2048, 4096}) defer(add_gemm_cases, "square", n, n, n, 1);
            defer(add_gemm_cases, "odd sizes", 1023, 1025, 999, 1);
            defer(add_gemm_cases, "r18.fc 512>1000", settings.batch, 1000, 512, 1);
            defer(add_gemm_cases, "mv2.classifier 1280>1000", settings.batch, 1000, 1280, 1);
            defer(add_gemm_cases, "strided batched", 256, 256, 256, 32);
        }
    }
    return builders;
}

// ---- validate, then time --------------------------------------------------------------------------

void zero_outputs(Side& side) {
    for (Tensor& t : side.outputs) t.fill_(0);
}

// llm.c's validate_result, over every output of the case: prints the first
// mismatches and records the largest error relative to the reference's scale.
bool validate(Case& c) {
    zero_outputs(c.hand);
    zero_outputs(c.reference);
    c.hand.run();
    c.reference.run();
    bool ok = true;
    c.max_error = 0;
    c.scale = 0;
    for (size_t o = 0; o < c.hand.outputs.size(); ++o) {
        const Tensor hand = c.hand.outputs[o].to(Device::cpu()), reference = c.reference.outputs[o].to(Device::cpu());
        const float* h = hand.data<float>();
        const float* r = reference.data<float>();
        double scale = 0;
        for (int64_t i = 0; i < hand.numel(); ++i) scale = std::max(scale, double(std::fabs(r[i])));
        c.scale = std::max(c.scale, scale);
        const double limit = c.tolerance * std::max(scale, 1e-30);
        int shown = 0;
        for (int64_t i = 0; i < hand.numel(); ++i) {
            const double error = std::fabs(double(h[i]) - double(r[i]));
            if (!(error <= limit)) {  // NaN fails too
                if (shown++ < mismatches_shown)
                    std::printf("  mismatch in %s %s (%s) output %zu at %lld: reference %.7g vs hand-written %.7g\n",
                                c.op.c_str(), c.layer.c_str(), c.pass.c_str(), o, (long long)i, double(r[i]),
                                double(h[i]));
                ok = false;
            }
            if (error > c.max_error || error != error) c.max_error = error;
        }
    }
    return ok;
}

#if KILN_HAVE_CUDA
// Median milliseconds of one call: a warm-up call, then runs timed one by one
// with CUDA events until `min_runs` runs and ~budget_ms of GPU time.
double median_ms(const std::function<void()>& run, int min_runs, double budget_ms) {
    run();
    check_cuda(cudaDeviceSynchronize(), "warm-up");
    cudaEvent_t start, stop;
    check_cuda(cudaEventCreate(&start), "cudaEventCreate");
    check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
    std::vector<double> times;
    double total = 0;
    while (int(times.size()) < min_runs || (total < budget_ms && times.size() < 200)) {
        check_cuda(cudaEventRecord(start), "cudaEventRecord");
        run();
        check_cuda(cudaEventRecord(stop), "cudaEventRecord");
        check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
        float ms = 0;
        check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
        times.push_back(ms);
        total += ms;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}
#endif

// ---- output -----------------------------------------------------------------------------------------

struct Derived {
    bool compute_bound;
    double hand_rate, vendor_rate;  // GFLOP/s when compute-bound, else GB/s
    double hand_roofline, vendor_roofline;  // % of the roofline
    double speed;  // vendor ms / hand ms
};

Derived derive(const Case& c, const Roofline& roof) {
    Derived d{};
    const double compute_s = roof.gflops > 0 ? c.flops / (roof.gflops * 1e9) : 0;
    const double memory_s = roof.gbytes_per_s > 0 ? c.bytes / (roof.gbytes_per_s * 1e9) : 0;
    d.compute_bound = compute_s > memory_s;
    const double roofline_s = std::max(compute_s, memory_s);
    const auto rate = [&](double ms) { return (d.compute_bound ? c.flops : c.bytes) / (ms * 1e-3) / 1e9; };
    d.hand_rate = rate(c.hand_ms);
    d.vendor_rate = rate(c.vendor_ms);
    d.hand_roofline = 100 * roofline_s / (c.hand_ms * 1e-3);
    d.vendor_roofline = 100 * roofline_s / (c.vendor_ms * 1e-3);
    d.speed = c.vendor_ms / c.hand_ms;
    return d;
}

std::string csv_field(const std::string& text) {
    return text.find_first_of(",\"") == std::string::npos ? text : "\"" + text + "\"";
}

void write_outputs(const std::vector<Case>& cases, const Settings& settings, const Roofline& roof) {
    nlohmann::json json;
    json["device"] = roof.name;
    json["timed"] = settings.gpu();
    json["batch"] = settings.gpu() ? settings.batch : emu_batch;
    json["peak_gflops"] = roof.gflops;
    json["peak_gbytes_per_s"] = roof.gbytes_per_s;
    json["cases"] = nlohmann::json::array();
    std::ofstream csv(settings.out + ".csv");
    csv << "device,op,net,input,layer,pass,shape,hand_kernel,reference,valid,max_error,tolerance,flops,bytes,"
           "hand_ms,vendor_ms,hand_speed_vs_vendor,bound,hand_rate,vendor_rate,hand_roofline_pct,vendor_roofline_pct\n";
    for (const Case& c : cases) {
        const Derived d = derive(c, roof);
        const char* bound = !settings.gpu() ? "" : d.compute_bound ? "GFLOP/s" : "GB/s";
        csv << csv_field(roof.name) << ',' << c.op << ',' << c.net << ',' << c.input << ',' << csv_field(c.layer) << ','
            << c.pass << ',' << csv_field(c.shape) << ',' << csv_field(c.hand.kernel) << ','
            << csv_field(c.reference.kernel) << ',' << (c.valid ? "yes" : "no") << ',' << c.max_error << ','
            << c.tolerance * c.scale << ',' << c.flops << ',' << c.bytes << ',' << c.hand_ms << ',' << c.vendor_ms << ','
            << d.speed << ',' << bound << ',' << d.hand_rate << ',' << d.vendor_rate << ',' << d.hand_roofline << ','
            << d.vendor_roofline << '\n';
        const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
        json["cases"].push_back({{"op", c.op},
                                 {"net", c.net},
                                 {"input", c.input},
                                 {"layer", c.layer},
                                 {"pass", c.pass},
                                 {"shape", c.shape},
                                 {"hand_kernel", c.hand.kernel},
                                 {"reference", c.reference.kernel},
                                 {"reference_is_vendor", c.reference_is_vendor},
                                 {"valid", c.valid},
                                 {"max_error", number(c.max_error)},
                                 {"tolerance", c.tolerance * c.scale},
                                 {"flops", c.flops},
                                 {"bytes", c.bytes},
                                 {"hand_ms", number(c.hand_ms)},
                                 {"vendor_ms", number(c.vendor_ms)},
                                 {"hand_speed_vs_vendor", number(d.speed)},
                                 {"bound", bound},
                                 {"hand_rate", number(d.hand_rate)},
                                 {"vendor_rate", number(d.vendor_rate)},
                                 {"hand_roofline_pct", number(d.hand_roofline)},
                                 {"vendor_roofline_pct", number(d.vendor_roofline)}});
    }
    std::ofstream(settings.out + ".json") << json.dump(1) << '\n';
}

void print_row(const Case& c, const Roofline& roof, bool timed) {
    char layer[40];
    std::snprintf(layer, sizeof layer, "%s", c.layer.c_str());
    std::printf("%-21s %-3s %-28s %-18s %-24s %-28s %-4s %9.2e", c.op.c_str(), c.input.c_str(), layer, c.pass.c_str(),
                c.hand.kernel.c_str(), c.reference.kernel.c_str(), c.valid ? "ok" : "FAIL",
                c.max_error / std::max(c.scale, 1e-30));
    if (timed && c.valid) {
        const Derived d = derive(c, roof);
        const char* unit = d.compute_bound ? "GF/s" : "GB/s";
        std::printf(" %9.4f", c.hand_ms);
        if (c.reference_is_vendor)
            std::printf(" %9.4f %6.2fx %8.0f %s %5.1f%% %8.0f %s %5.1f%%", c.vendor_ms, d.speed, d.hand_rate, unit,
                        d.hand_roofline, d.vendor_rate, unit, d.vendor_roofline);
        else
            std::printf(" %9s %7s %8.0f %s %5.1f%%", "-", "-", d.hand_rate, unit, d.hand_roofline);
    }
    std::printf("\n");
    std::fflush(stdout);
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> parts;
    size_t begin = 0;
    while (begin <= text.size()) {
        const size_t end = std::min(text.find(',', begin), text.size());
        if (end > begin) parts.push_back(text.substr(begin, end - begin));
        begin = end + 1;
    }
    return parts;
}

int usage() {
    std::fprintf(stderr,
                 "usage: bench_kernels [--device cuda|emu] [--batch N] [--sizes 128,224] "
                 "[--ops conv,batch_norm,pool,activation,gemm] [--out PREFIX] [--runs N]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    std::string device_name;
    int min_runs = 10;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--device" && has_value) device_name = argv[++i];
        else if (arg == "--batch" && has_value) settings.batch = std::atoll(argv[++i]);
        else if (arg == "--out" && has_value) settings.out = argv[++i];
        else if (arg == "--runs" && has_value) min_runs = std::atoi(argv[++i]);
        else if (arg == "--sizes" && has_value) {
            settings.sizes.clear();
            for (const std::string& size : split(argv[++i])) settings.sizes.push_back(std::atoll(size.c_str()));
        } else if (arg == "--ops" && has_value) {
            settings.ops.clear();
            for (const std::string& op : split(argv[++i])) {
                if (op != "conv" && op != "batch_norm" && op != "pool" && op != "activation" && op != "gemm")
                    return usage();
                settings.ops.insert(op);
            }
        } else
            return usage();
    }
    for (int64_t size : settings.sizes)
        if (size <= 0 || size % 32 != 0) {
            std::fprintf(stderr, "bench_kernels: --sizes: %lld is not a positive multiple of 32\n", (long long)size);
            return 2;
        }
    if (settings.batch < 1 || min_runs < 1) return usage();

    try {
        if (device_name.empty()) device_name = gpu_available() ? "cuda" : "emu";
        settings.device = Device::parse(device_name);
        if (settings.device.kind == Device::Kind::cpu) return usage();
        if (settings.gpu() && !gpu_available()) {
            (void)Tensor::zeros({1}, DType::float32, settings.device);  // throws kiln's one-line "no GPU" error
        }
        Roofline roof;
        if (settings.gpu()) {
#if KILN_HAVE_CUDA
            roof = cuda_roofline();
#endif
            std::printf("bench_kernels on %s: peak FP32 %.0f GFLOP/s, DRAM %.0f GB/s (from the device's attributes)\n",
                        roof.name.c_str(), roof.gflops, roof.gbytes_per_s);
            std::printf("batch %lld, inputs", (long long)settings.batch);
            for (int64_t size : settings.sizes) std::printf(" %lldx%lld", (long long)size, (long long)size);
            std::printf("; every result validated against %s before it is timed\n\n",
                        kiln::vendor_built(VendorOp::conv) ? "cuDNN / cuBLAS" : "cuBLAS (gemm) and cpu (no cuDNN)");
        } else {
            roof.name = "emu (SIMT emulator)";
            std::printf("bench_kernels on emu: CORRECTNESS ONLY. No GPU here: the hand-written CUDA kernels run on the\n"
                        "SIMT emulator and are validated against the cpu kernels on shrunken layer shapes (batch 2,\n"
                        "<= 16 channels, <= 17x17 pixels). The vendor paths do not exist on emu, and the emulator's\n"
                        "timings mean nothing about a GPU: none are taken.\n\n");
        }
        kiln::manual_seed(2024);
        std::vector<Case> cases;  // the results: their buffers are released once measured
        std::printf("%-21s %-3s %-28s %-18s %-24s %-28s %-4s %9s", "op", "in", "layer", "pass", "hand-written",
                    "reference", "", "rel err");
        if (settings.gpu())
            std::printf(" %9s %9s %7s %13s %6s %13s %6s", "hand ms", "vendor ms", "speed", "hand", "roof", "vendor",
                        "roof");
        std::printf("\n");
        int failures = 0;
        for (const CaseBuilder& build : case_builders(settings)) {
            std::vector<Case> built;
            build(built);
            for (Case& c : built) {
                c.valid = validate(c);
                if (!c.valid) ++failures;
#if KILN_HAVE_CUDA
                if (settings.gpu() && c.valid) {
                    constexpr double budget_ms = 200;  // per kernel: enough runs for a stable median
                    c.hand_ms = median_ms(c.hand.run, min_runs, budget_ms);
                    if (c.reference_is_vendor) c.vendor_ms = median_ms(c.reference.run, min_runs, budget_ms);
                }
#endif
                print_row(c, roof, settings.gpu());
                c.hand.run = c.reference.run = nullptr;  // release the buffers, keep the names
                c.hand.outputs.clear();
                c.reference.outputs.clear();
                cases.push_back(std::move(c));
            }
        }
        write_outputs(cases, settings, roof);
        std::printf("\n%zu cases, %d failed validation; wrote %s.csv and %s.json%s\n", cases.size(), failures,
                    settings.out.c_str(), settings.out.c_str(),
                    settings.gpu() ? "" : " (no timings: emu is a correctness run)");
        return failures ? 1 : 0;
    } catch (const kiln::Error& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
