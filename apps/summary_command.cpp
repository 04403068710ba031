// kiln summary: runs one eval-mode forward of a zoo model on a zero image of
// the given size under a ForwardTrace, and prints a row per layer that does
// work: leaf modules, and blocks that add their own FLOPs (skip additions,
// squeeze-and-excitation scaling). FLOPs count a multiply-add as 2; the
// multiply-add count (what torchvision's docs call "GFLOPS") is printed too.
#include "apps/summary_command.h"

#include <cstdio>
#include <set>
#include <sstream>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "layers/models/models.h"

namespace kiln::apps {

namespace {

// 11689512 -> "11,689,512"
std::string grouped(int64_t value) {
    std::string digits = std::to_string(value < 0 ? -value : value), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return value < 0 ? "-" + out : out;
}

// 3.6e9 -> "3.64 G"
std::string scaled_number(double value) {
    const char* units[] = {"", " K", " M", " G", " T"};
    int unit = 0;
    while (value >= 1000 && unit < 4) {
        value /= 1000;
        ++unit;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, unit ? "%.2f%s" : "%.0f%s", value, units[unit]);
    return buffer;
}

Shape parse_input(const std::string& text) {
    Shape dims;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, 'x')) {
        size_t used = 0;
        int64_t value = 0;
        try {
            value = std::stoll(part, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        KILN_CHECK(used == part.size() && !part.empty() && value > 0, "summary: --input must be CxHxW with positive ",
                   "integers, e.g. 3x224x224 or 1x128x128; got \"", text, "\"");
        dims.push_back(value);
    }
    KILN_CHECK(dims.size() == 3, "summary: --input must be CxHxW, e.g. 3x224x224; got \"", text, "\"");
    return dims;
}

}  // namespace

int run_summary(const SummaryOptions& options) {
    const Shape input = parse_input(options.input);
    models::ModelConfig config;
    config.num_classes = options.classes;
    config.in_channels = input[0];
    config.width = options.width;
    const auto model = models::make_model(options.model, config);
    model->eval();

    std::vector<ForwardRecord> records;
    Shape output;
    {
        NoGradGuard no_grad;
        ForwardTrace trace;
        output = (*model)(Tensor::zeros({1, input[0], input[1], input[2]})).shape();
        records = trace.records();
    }

    struct Row {
        std::string layer, shape, params;
        int64_t flops;
    };
    std::vector<Row> rows;
    std::set<const Module*> counted;
    int64_t total_flops = 0;
    for (const ForwardRecord& record : records) {
        const Module& module = *record.module;
        if (&module == model.get()) continue;
        const int64_t flops = module.forward_flops(record.input, record.output);
        const bool leaf = module.named_children().empty();
        if (!leaf && flops == 0) continue;
        int64_t params = 0;
        if (leaf && counted.insert(&module).second)
            for (const auto& entry : module.named_parameters(false)) params += entry.second.numel();
        rows.push_back({module.path() + " (" + module.type_name() + ")", shape_str(record.output),
                        leaf ? grouped(params) : "-", flops});
        total_flops += flops;
    }

    size_t layer_width = 12, shape_width = 12;
    for (const Row& row : rows) {
        layer_width = std::max(layer_width, row.layer.size());
        shape_width = std::max(shape_width, row.shape.size());
    }
    const int lw = int(layer_width), sw = int(shape_width);
    const std::string rule(layer_width + shape_width + 34, '-');
    std::printf("%s (%s), input [1, %lld, %lld, %lld], %lld classes, width %g\n", options.model.c_str(),
                model->type_name().c_str(), (long long)input[0], (long long)input[1], (long long)input[2],
                (long long)options.classes, options.width);
    std::printf("%s\n%-*s  %-*s  %14s  %12s\n%s\n", rule.c_str(), lw, "Layer (type)", sw, "Output shape", "Params",
                "FLOPs", rule.c_str());
    for (const Row& row : rows)
        std::printf("%-*s  %-*s  %14s  %12s\n", lw, row.layer.c_str(), sw, row.shape.c_str(), row.params.c_str(),
                    scaled_number(double(row.flops)).c_str());
    std::printf("%s\n", rule.c_str());

    int64_t parameter_bytes = 0, buffer_bytes = 0;
    for (const auto& entry : model->named_parameters()) parameter_bytes += entry.second.numel() * int64_t(dtype_size(entry.second.dtype()));
    for (const auto& entry : model->named_buffers()) buffer_bytes += entry.second.numel() * int64_t(dtype_size(entry.second.dtype()));
    const double megabytes = double(parameter_bytes + buffer_bytes) / 1e6;
    std::printf("Total params:      %s\n", grouped(model->parameter_count()).c_str());
    std::printf("Trainable params:  %s\n", grouped(model->trainable_parameter_count()).c_str());
    std::printf("Output:            %s\n", shape_str(output).c_str());
    std::printf("FLOPs per image:   %s (%s multiply-adds)\n", scaled_number(double(total_flops)).c_str(),
                scaled_number(double(total_flops) / 2).c_str());
    std::printf("Model size:        %.2f MB (%.2f MiB) of float32 parameters and buffers\n", megabytes,
                double(parameter_bytes + buffer_bytes) / (1024.0 * 1024.0));
    return 0;
}

}  // namespace kiln::apps
