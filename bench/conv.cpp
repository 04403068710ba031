// bench_conv: kiln's conv2d forward and backward (float32) on the convolution
// layers of ResNet-18 and MobileNetV2 (width 1.0) at a 128x128 input, in
// GFLOP/s and as a fraction of the machine's measured fp32 peak.
//
//   OPENBLAS_CORETYPE= OMP_NUM_THREADS=2 build/bench/bench_conv [--batch 8] [--csv] [--quick]
//       [--layer I] (time only layer I, 0-based)   [--no-peak] (skip measuring the peak)
//       [--list] (the CSV rows without timing them)
//       [--policy automatic|direct|gemm|winograd|winograd4] (the cpu algorithm choice, kernels/cpu/conv.h)
//       [--width W] (channels scaled, as the zoo nets' width multiplier)
//
// Each distinct layer shape appears once (a repeated block is timed once).
// No bias (both nets follow every conv with batch norm). "backward" is one
// backward() through the conv, computing dx and dw, with .grad cleared first.
// --csv prints one machine-readable row per layer (bench/peers/conv_torch.py
// reads the shapes from it and times PyTorch on the same ones).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/net_layers.h"
#include "bench/peak.h"
#include "bench/timing.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/cpu/conv.h"

namespace {

using kiln::bench::Layer;
using kiln::bench::mobilenet_v2;
using kiln::bench::resnet18;

// Median time of `fn` after one warm-up run, over at least `min_runs` runs and ~`budget` seconds.
}  // namespace

int main(int argc, char** argv) {
    int64_t batch = 8;
    int64_t only_layer = -1;
    double width = 1.0;
    bool csv = false, quick = false, measure_peak = true, list = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--csv")) csv = true;
        else if (!std::strcmp(argv[i], "--quick")) quick = true;
        else if (!std::strcmp(argv[i], "--no-peak")) measure_peak = false;
        else if (!std::strcmp(argv[i], "--list")) list = csv = true;
        else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--layer") && i + 1 < argc) only_layer = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--width") && i + 1 < argc) width = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--policy") && i + 1 < argc) {
            kiln::cpu::ConvDirectPolicy policy{};
            if (!kiln::cpu::conv_direct_policy_named(argv[++i], policy)) {
                std::fprintf(stderr, "bench_conv: --policy: unknown policy '%s'\n", argv[i]);
                return 2;
            }
            kiln::cpu::set_conv_direct_policy(policy);
        } else {
            std::fprintf(stderr, "usage: bench_conv [--batch N] [--csv] [--quick] [--layer I] [--no-peak] [--list] [--policy P] [--width W]\n");
            return 2;
        }
    }
    const int min_runs = quick ? 3 : 7;
    const double budget = quick ? 0.05 : 0.3;
    const double peak = measure_peak ? kiln::bench::measured_peak_gflops() : 0;
    if (csv) {
        std::printf("# threads %d, batch %lld, peak %.1f GFLOP/s\n", omp_get_max_threads(), (long long)batch, peak);
        std::printf("layer,in_channels,size,out_channels,kernel,stride,padding,groups,batch,algorithm,gflop_forward,"
                    "forward_ms,backward_ms\n");
    } else {
        std::printf("threads %d, batch %lld, float32, measured fp32 peak %.1f GFLOP/s\n\n", omp_get_max_threads(),
                    (long long)batch, peak);
        std::printf("%-22s %-20s %-18s %9s %8s %6s %9s %8s %6s\n", "layer", "in -> out", "kernel", "fwd ms",
                    "GF/s", "peak", "bwd ms", "GF/s", "peak");
    }
    std::vector<Layer> layers(std::begin(resnet18), std::end(resnet18));
    layers.insert(layers.end(), std::begin(mobilenet_v2), std::end(mobilenet_v2));
    for (size_t index = 0; index < layers.size(); ++index) {
        if (only_layer >= 0 && int64_t(index) != only_layer) continue;
        const Layer l = kiln::bench::at_width(layers[index], width);
        const int64_t padding = l.kernel / 2;
        const kiln::Conv2dOptions options{{l.stride, l.stride}, {padding, padding}, {1, 1}, l.groups};
        if (list) {
            std::printf("%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,,,,\n", l.name, (long long)l.in_channels,
                        (long long)l.size, (long long)l.out_channels, (long long)l.kernel, (long long)l.stride,
                        (long long)padding, (long long)l.groups, (long long)batch);
            continue;
        }
        kiln::Tensor x = kiln::Tensor::randn({batch, l.in_channels, l.size, l.size});
        kiln::Tensor w = kiln::Tensor::randn({l.out_channels, l.in_channels / l.groups, l.kernel, l.kernel}) * 0.1;
        x.set_requires_grad(true);
        w.set_requires_grad(true);
        kiln::Tensor y;
        {
            kiln::NoGradGuard no_grad;
            y = kiln::conv2d(x, w, kiln::Tensor(), options);
        }
        const double forward_s = kiln::bench::median_seconds(
            [&] {
                kiln::NoGradGuard no_grad;
                y = kiln::conv2d(x, w, kiln::Tensor(), options);
            },
            min_runs, budget);
        const kiln::Tensor dy = kiln::Tensor::randn(y.shape());
        const kiln::Tensor graph = kiln::conv2d(x, w, kiln::Tensor(), options);
        const double backward_s = kiln::bench::median_seconds(
            [&] {
                x.set_grad(kiln::Tensor());
                w.set_grad(kiln::Tensor());
                graph.backward(dy, /*retain_graph=*/true);
            },
            min_runs, budget);
        const int64_t out_size = y.size(2);
        const double flops = 2.0 * double(batch * l.out_channels * out_size * out_size) *
                             double(l.in_channels / l.groups * l.kernel * l.kernel);
        const kiln::cpu::Conv2dShape shape{batch,    l.in_channels, l.size,  l.size,  l.out_channels, l.kernel,
                                           l.kernel, l.groups,      l.stride, l.stride, padding,        padding,
                                           1,        1,             out_size, out_size};
        const char* algorithm = kiln::cpu::conv2d_cpu_algorithm_name<float>(shape, kiln::math::Conv2dPass::forward);
        if (csv) {
            std::printf("%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%s,%.6f,%.4f,%.4f\n", l.name,
                        (long long)l.in_channels, (long long)l.size, (long long)l.out_channels, (long long)l.kernel,
                        (long long)l.stride, (long long)padding, (long long)l.groups, (long long)batch, algorithm,
                        flops / 1e9, forward_s * 1e3, backward_s * 1e3);
        } else {
            char channels[48], kernel[24];
            std::snprintf(channels, sizeof channels, "%lldx%lld^2 -> %lld", (long long)l.in_channels,
                          (long long)l.size, (long long)l.out_channels);
            std::snprintf(kernel, sizeof kernel, "%s", algorithm);
            const double forward_gflops = flops / forward_s / 1e9, backward_gflops = 2 * flops / backward_s / 1e9;
            std::printf("%-22s %-20s %-18s %9.3f %8.1f %5.0f%% %9.3f %8.1f %5.0f%%\n", l.name, channels, kernel,
                        forward_s * 1e3, forward_gflops, 100 * forward_gflops / peak, backward_s * 1e3,
                        backward_gflops, 100 * backward_gflops / peak);
        }
        std::fflush(stdout);
    }
    if (only_layer >= int64_t(layers.size())) {
        std::fprintf(stderr, "bench_conv: --layer %lld: there are %zu layers\n", (long long)only_layer, layers.size());
        return 2;
    }
    return 0;
}
