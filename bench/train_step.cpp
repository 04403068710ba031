// bench_train_step: one whole training step and inference of a zoo net on the
// CPU, the kiln side of bench/train_step.sh (which runs PyTorch on the same
// nets, batch, input and optimizer, and prints the ratios).
//
//   OPENBLAS_CORETYPE= OMP_NUM_THREADS=2 build/bench/bench_train_step
//       --model resnet18|mobilenet_v2 --mode train|latency|throughput
//       [--width 0.5] [--size 128] [--batch 32] [--classes 4] [--steps 10]
//       [--conv-policy automatic|direct|gemm|winograd|winograd4] (kernels/cpu/conv.h)
//
// train:      model.train(); forward + cross-entropy (mean) + backward +
//             AdamW step (lr 1e-3, weight decay 0.01), grads set to none
//             before each step; reports images/s over the timed steps.
// latency:    model.eval(), no grad, frozen weights (engine/frozen.h), batch 1;
//             reports the median ms per image.
// throughput: the same at batch --batch; reports images/s.
// Input 3 x size x size from randn, targets i % classes. Three warm-up steps
// (allocator cache, lazy initialisation) are not timed. Each mode is meant to
// run in its own process: the peak RSS printed (VmHWM, see peak_rss_mib) is the
// whole process's, model and optimizer state included.
//
// Output: one line "kiln,<model>,<mode>,<value>,<unit>,<peak_rss_mib>,<median_step_ms>".
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/frozen.h"
#include "engine/ops.h"
#include "kernels/cpu/conv.h"
#include "layers/models/models.h"
#include "optim/optimizer.h"

namespace {

constexpr int warmup_steps = 3;  // fill the caching allocator and every lazy initialisation

// Peak resident set of this program: VmHWM from /proc/self/status. getrusage's
// ru_maxrss would do on a process started from a shell, but Linux carries the
// high-water mark of the process that forked us across exec: started from the
// Python driver (which had imported torch) every kiln run reported >= 228 MiB.
// VmHWM belongs to the address space, which exec replaces. ru_maxrss is the
// fallback where /proc is missing.
double peak_rss_mib() {
    if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long kib = -1;
        while (std::fgets(line, sizeof line, status))
            if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
        std::fclose(status);
        if (kib >= 0) return double(kib) / 1024.0;
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int usage() {
    std::fprintf(stderr,
                 "usage: bench_train_step --model resnet18|mobilenet_v2 --mode train|latency|throughput\n"
                 "       [--width 0.5] [--size 128] [--batch 32] [--classes 4] [--steps 10]\n"
                 "       [--conv-policy automatic|direct|gemm|winograd|winograd4]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string model_name = "resnet18", mode = "train";
    double width = 0.5;
    int64_t size = 128, batch = 32, classes = 4, steps = 10;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--model") && has_value) model_name = argv[++i];
        else if (!std::strcmp(argv[i], "--mode") && has_value) mode = argv[++i];
        else if (!std::strcmp(argv[i], "--width") && has_value) width = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--size") && has_value) size = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--batch") && has_value) batch = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--classes") && has_value) classes = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--steps") && has_value) steps = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--conv-policy") && has_value) {
            kiln::cpu::ConvDirectPolicy policy{};
            if (!kiln::cpu::conv_direct_policy_named(argv[++i], policy)) return usage();
            kiln::cpu::set_conv_direct_policy(policy);
        }
        else return usage();
    }
    if (mode != "train" && mode != "latency" && mode != "throughput") return usage();
    if (mode == "latency") batch = 1;

    kiln::models::ModelConfig config;
    config.num_classes = classes;
    config.in_channels = 3;
    config.width = width;
    config.seed = 1;
    auto model = kiln::models::make_model(model_name, config);

    const kiln::Tensor x = kiln::Tensor::randn({batch, 3, size, size});
    std::vector<int64_t> labels(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) labels[size_t(i)] = i % classes;
    const kiln::Tensor target = kiln::Tensor::from_int64(labels, {batch});

    std::vector<double> times;
    if (mode == "train") {
        model->train();
        kiln::optim::AdamW optimizer(model->trainable_parameters(), {{"lr", 1e-3}, {"weight_decay", 0.01}});
        for (int64_t step = 0; step < warmup_steps + steps; ++step) {
            const auto start = std::chrono::steady_clock::now();
            optimizer.zero_grad();
            const kiln::Tensor loss = kiln::cross_entropy((*model)(x), target);
            loss.backward();
            optimizer.step();
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (step >= warmup_steps) times.push_back(seconds);
        }
    } else {
        model->eval();
        kiln::NoGradGuard no_grad;
        const kiln::FrozenWeightsGuard frozen;  // as PyTorch's best freezes its model (engine/frozen.h)
        const int64_t runs = mode == "latency" ? steps * 10 : steps;  // batch 1 is short: more runs
        for (int64_t step = 0; step < warmup_steps + runs; ++step) {
            const auto start = std::chrono::steady_clock::now();
            const kiln::Tensor logits = (*model)(x);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (step >= warmup_steps) times.push_back(seconds);
        }
    }
    const double step_s = median(times);
    if (mode == "latency")
        std::printf("kiln,%s,%s,%.3f,ms,%.1f,%.3f\n", model_name.c_str(), mode.c_str(), step_s * 1e3, peak_rss_mib(),
                    step_s * 1e3);
    else
        std::printf("kiln,%s,%s,%.1f,img/s,%.1f,%.3f\n", model_name.c_str(), mode.c_str(), double(batch) / step_s,
                    peak_rss_mib(), step_s * 1e3);
    return 0;
}
