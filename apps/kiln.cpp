// kiln: the command-line front end. Each subcommand is a thin layer over the
// library; errors print one line on stderr and exit non-zero.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <set>

#include "apps/demo.h"
#include "apps/optim_playground.h"
#include "apps/summary_command.h"
#include "engine/gradcheck.h"
#include "engine/ops/registry.h"
#include "layers/models/models.h"

namespace {

// kiln gradcheck: one line per op case, float64 finite differences against
// backward, then float32 against float64.
int run_gradcheck_command(const std::string& only_op) {
    const std::vector<std::string> ops = kiln::registered_ops();
    if (!only_op.empty() && std::find(ops.begin(), ops.end(), only_op) == ops.end()) {
        std::string known;
        for (const std::string& op : ops) {
            if (!known.empty()) known += ", ";
            known += op;
        }
        std::fprintf(stderr, "kiln gradcheck: unknown op \"%s\" (known: %s)\n", only_op.c_str(), known.c_str());
        return 2;
    }
    int failures = 0, count = 0;
    std::set<std::string> covered;
    std::printf("%-10s %-40s %-22s %12s %12s  %s\n", "op", "case", "shapes", "grad err", "f32 err", "result");
    for (const kiln::OpCase& c : kiln::op_cases()) {
        if (!only_op.empty() && c.op != only_op) continue;
        std::string shapes;
        for (const kiln::Shape& s : c.shapes) {
            if (!shapes.empty()) shapes += ' ';
            shapes += kiln::shape_str(s);
        }
        const kiln::GradcheckResult grad = kiln::run_gradcheck(c);
        const kiln::PrecisionResult single = kiln::run_float32_check(c);
        const bool passed = grad.passed && single.passed;
        std::printf("%-10s %-40s %-22s %12.3e %12.3e  %s\n", c.op.c_str(), c.label.c_str(), shapes.c_str(),
                    grad.max_abs_error, single.max_error, passed ? "pass" : "FAIL");
        if (!grad.passed) std::printf("    gradient outside tolerance at %s\n", grad.failure.c_str());
        if (!single.passed) std::printf("    float32 differs from float64 at %s\n", single.worst.c_str());
        failures += !passed;
        ++count;
        covered.insert(c.op);
    }
    for (const std::string& op : ops) {
        if ((only_op.empty() || op == only_op) && !covered.count(op)) {
            std::printf("%-10s has no gradcheck case: FAIL\n", op.c_str());
            ++failures;
        }
    }
    std::printf("%d cases, %d failed\n", count, failures);
    return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kiln: a from-scratch deep-learning engine for defect inspection"};
    app.require_subcommand(1);

    std::string only_op;
    CLI::App* gradcheck = app.add_subcommand("gradcheck", "check every op's backward against finite differences");
    gradcheck->add_option("--op", only_op, "check only this op (e.g. mul)");

    kiln::apps::DemoOptions demo_options;
    CLI::App* demo = app.add_subcommand("demo", "train a tiny net on generated defect images; print the loss");
    demo->add_option("--epochs", demo_options.epochs, "passes over the training set")->capture_default_str()
        ->check(CLI::Range(1, 1000000));
    demo->add_option("--lr", demo_options.learning_rate, "SGD learning rate")->capture_default_str()
        ->check(CLI::PositiveNumber);
    demo->add_option("--batch-size", demo_options.batch_size, "images per step")->capture_default_str()
        ->check(CLI::Range(1, 1000000));
    demo->add_option("--seed", demo_options.seed, "seed of the data and the initial weights")->capture_default_str();

    kiln::apps::PlaygroundOptions playground;
    CLI::App* optim = app.add_subcommand("optim", "run optimizers on a 2-D test function; CSV and SVG of their paths");
    optim->add_option("--function", playground.function, "rosenbrock, beale, bowl or saddle")->capture_default_str();
    optim->add_option("--optimizer", playground.optimizers,
                      "kind[:key=value,...], repeatable, e.g. adam:lr=0.05,beta1=0.8 (kinds: sgd, adagrad, rmsprop, "
                      "adam, adamw, lion); default: sgd, momentum, rmsprop, adam and lion tuned for the function");
    optim->add_option("--steps", playground.steps, "steps per optimizer (default: the function's)")
        ->check(CLI::Range(1, 1000000));
    optim->add_option("--condition", playground.condition, "bowl: condition number kappa")->capture_default_str()
        ->check(CLI::PositiveNumber);
    optim->add_option("--start", playground.start, "start point x y")->expected(2);
    optim->add_option("--csv", playground.csv_path, "write the trajectories here (default: stdout)");
    optim->add_option("--svg", playground.svg_path, "write a picture of the contours and paths here");

    kiln::apps::SummaryOptions summary_options;
    std::string model_list;
    for (const kiln::models::ModelInfo& info : kiln::models::model_infos()) model_list += "\n  " + info.name + ": " + info.description;
    CLI::App* summary = app.add_subcommand("summary", "print a zoo model's layers: output shape, parameters, FLOPs; "
                                                      "totals and model size");
    summary->footer("Models:" + model_list);
    summary->add_option("model", summary_options.model, "zoo model name")->required();
    summary->add_option("--input", summary_options.input, "input size CxHxW")->capture_default_str();
    summary->add_option("--classes", summary_options.classes, "number of classes")->capture_default_str()
        ->check(CLI::Range(int64_t(1), int64_t(1) << 30));
    summary->add_option("--width", summary_options.width, "channel width multiplier")->capture_default_str()
        ->check(CLI::PositiveNumber);

    CLI11_PARSE(app, argc, argv);
    try {
        if (*gradcheck) return run_gradcheck_command(only_op);
        if (*demo) return kiln::apps::run_demo(demo_options);
        if (*optim) return kiln::apps::run_optim_playground(playground);
        if (*summary) return kiln::apps::run_summary(summary_options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
    return 0;
}
