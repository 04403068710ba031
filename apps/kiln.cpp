// kiln: the command-line front end. Each subcommand is a thin layer over the
// library; errors print one line on stderr and exit non-zero.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "apps/data_commands.h"
#include "apps/demo.h"
#include "apps/optim_playground.h"
#include "apps/summary_command.h"
#include "apps/train_commands.h"
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
    size_t op_width = 2;  // the longest op name sets the first column
    for (const kiln::OpCase& c : kiln::op_cases()) op_width = std::max(op_width, c.op.size());
    const int width = int(op_width);
    std::printf("%-*s %-40s %-22s %12s %12s  %s\n", width, "op", "case", "shapes", "grad err", "f32 err", "result");
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
        std::printf("%-*s %-40s %-22s %12.3e %12.3e  %s\n", width, c.op.c_str(), c.label.c_str(), shapes.c_str(),
                    grad.max_abs_error, single.max_error, passed ? "pass" : "FAIL");
        if (!grad.passed) std::printf("    gradient outside tolerance at %s\n", grad.failure.c_str());
        if (!single.passed) std::printf("    float32 differs from float64 at %s\n", single.worst.c_str());
        failures += !passed;
        ++count;
        covered.insert(c.op);
    }
    for (const std::string& op : ops) {
        if ((only_op.empty() || op == only_op) && !covered.count(op)) {
            std::printf("%-*s has no gradcheck case: FAIL\n", width, op.c_str());
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

    kiln::apps::SynthCommandOptions synth_options;
    CLI::App* synth = app.add_subcommand("synth", "write the synthetic defect data set (an image folder, and masks)");
    synth->add_option("--out", synth_options.out, "folder to write: <out>/<class>/*.png")->required();
    synth->add_option("--kind", synth_options.kind, "bottle (good, broken_large, broken_small, contamination; RGB) or "
                                                    "casting (good, defect; grayscale)")
        ->capture_default_str()->check(CLI::IsMember({"bottle", "casting"}));
    synth->add_option("--size", synth_options.size, "image side in pixels")->capture_default_str()
        ->check(CLI::Range(16, 4096));
    synth->add_option("--count", synth_options.count, "images in all")->capture_default_str()
        ->check(CLI::Range(int64_t(1), int64_t(10000000)));
    synth->add_option("--defect-ratio", synth_options.defect_ratio,
                      "fraction of the images with a defect (1000 good : 350 defect is --count 1350 --defect-ratio 0.2593)")
        ->capture_default_str()->check(CLI::Range(0.0, 1.0));
    synth->add_option("--seed", synth_options.seed, "seed (each image depends only on seed and index)")
        ->capture_default_str();
    synth->add_option("--masks", synth_options.masks, "folder for the defect masks (default: <out>-masks)");
    synth->add_flag("--no-masks", synth_options.no_masks, "do not write masks");
    synth->add_option("--threads", synth_options.threads, "threads (default: all cores)")->check(CLI::Range(0, 1024));

    kiln::apps::AugmentCommandOptions augment_options;
    CLI::App* augment = app.add_subcommand("augment", "write a grid image of augmented samples of a data set");
    augment->add_option("data", augment_options.data,
                        "image folder, MVTec-AD category folder, CSV list (path,label), or synth:bottle / synth:casting")
        ->required();
    augment->add_option("--out", augment_options.out, "grid image to write (.png, .jpg, .bmp)")->capture_default_str();
    augment->add_option("--size", augment_options.size, "input size (images are brought to size x size)")
        ->capture_default_str()->check(CLI::Range(8, 4096));
    augment->add_option("--color", augment_options.color, "gray or rgb")->capture_default_str()
        ->check(CLI::IsMember({"gray", "grayscale", "rgb"}));
    augment->add_option("--fit", augment_options.fit, "stretch, crop or pad (other aspect ratios)")
        ->capture_default_str()->check(CLI::IsMember({"stretch", "crop", "pad"}));
    augment->add_option("--on-bad-image", augment_options.on_bad_image, "skip or fail on a file that does not decode")
        ->capture_default_str()->check(CLI::IsMember({"skip", "fail"}));
    augment->add_flag("--per-defect", augment_options.per_defect, "MVTec-AD: one class per defect type");
    augment->add_option("--augment", augment_options.augment,
                        "recipe: none, light, standard, round, optionally with overrides, e.g. "
                        "standard:rotate_degrees=45,erase_p=0")->capture_default_str();
    augment->add_option("--defect-augment", augment_options.defect_augment,
                        "a milder recipe for the defect classes (e.g. light); default: the same as --augment");
    augment->add_option("--rows", augment_options.rows, "images (one per class in turn)")->capture_default_str()
        ->check(CLI::Range(1, 64));
    augment->add_option("--columns", augment_options.columns, "the original, then augmentations")
        ->capture_default_str()->check(CLI::Range(2, 64));
    augment->add_option("--seed", augment_options.seed, "seed")->capture_default_str();
    augment->add_option("--epoch", augment_options.epoch, "epoch (a different draw per epoch)")->capture_default_str();

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

    kiln::apps::TrainCommand train_command;
    kiln::apps::add_train_command(app, train_command);
    kiln::apps::EvalCommand eval_command;
    kiln::apps::add_eval_command(app, eval_command);
    kiln::apps::PredictCommand predict_command;
    kiln::apps::add_predict_command(app, predict_command);
    kiln::apps::ExplainCommand explain_command;
    kiln::apps::add_explain_command(app, explain_command);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::ParseError& error) {
        // One line, as every other kiln error (CLI11's own adds a second "Run with --help" line).
        std::fprintf(stderr, "kiln: %s (see kiln --help)\n", error.what());
        return error.get_exit_code() ? error.get_exit_code() : 2;
    }
    try {
        if (*gradcheck) return run_gradcheck_command(only_op);
        if (*demo) return kiln::apps::run_demo(demo_options);
        if (*optim) return kiln::apps::run_optim_playground(playground);
        if (*synth) return kiln::apps::run_synth_command(synth_options);
        if (*augment) return kiln::apps::run_augment_command(augment_options);
        if (*summary) return kiln::apps::run_summary(summary_options);
        if (*train_command.app) return kiln::apps::run_train_command(train_command);
        if (*eval_command.app) return kiln::apps::run_eval_command(eval_command);
        if (*predict_command.app) return kiln::apps::run_predict_command(predict_command);
        if (*explain_command.app) return kiln::apps::run_explain_command(explain_command);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
    return 0;
}
