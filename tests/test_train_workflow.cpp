// The training workflow on tiny synthetic data: the loss goes down, resume
// equals an uninterrupted run bit for bit, early stopping restores the best
// epoch, threshold tuning meets its target, Grad-CAM finds a planted defect.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/pool.h"
#include "layers/sequential.h"
#include "train/early_stopping.h"
#include "train/grad_cam.h"
#include "train/metrics.h"
#include "train/checkpoint_state.h"
#include "train/threshold.h"
#include "train/trainer.h"

using namespace kiln;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
    // The process id too: other checkouts' suites may run at the same time.
    const fs::path dir = fs::temp_directory_path() / ("kiln_test_train_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    return dir;
}

train::TrainConfig tiny_config(const fs::path& out) {
    train::TrainConfig c;
    c.data = "synth:casting:count=48,size=32";
    c.grayscale = true;
    c.size = 32;
    c.model = "resnet_inspired";
    c.width = 0.25;
    c.epochs = 3;
    c.batch_size = "8";
    c.lr = 3e-3;
    c.augment = "light";
    c.workers = 1;
    c.report = false;
    c.out = out.string();
    return c;
}

std::vector<nlohmann::json> read_log(const fs::path& dir) {
    std::vector<nlohmann::json> lines;
    std::ifstream in(dir / "log.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

StateDict model_tensors(const fs::path& file) {
    StateDict out;
    for (auto& [k, v] : read_safetensors(file.string()).tensors)
        if (k.rfind("optimizer.", 0) != 0 && k.rfind("trainer.", 0) != 0) out[k] = v;
    return out;
}

bool bit_identical(const StateDict& a, const StateDict& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, t] : a) {
        const auto it = b.find(k);
        if (it == b.end() || it->second.to_vector() != t.to_vector()) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("train: a few epochs lower the training loss and write the run's files") {
    const fs::path dir = fresh_dir("loss");
    train::TrainConfig c = tiny_config(dir);
    c.epochs = 4;
    c.label_smoothing = 0;
    const train::TrainResult r = train::train(c);
    CHECK(r.epochs_done == 4);
    const auto log = read_log(dir);
    REQUIRE(log.size() == 5);  // four epochs and the final record
    const double first = log[0]["train"]["loss"].get<double>(), last = log[3]["train"]["loss"].get<double>();
    MESSAGE("train loss " << first << " -> " << last);
    CHECK(last < first);
    for (const char* f : {"config.json", "split.json", "last.safetensors", "best.safetensors", "model.safetensors", "metrics.json"})
        CHECK_MESSAGE(fs::exists(dir / f), f);
    CHECK(log[4]["final"].get<bool>());
    fs::remove_all(dir);
}

TEST_CASE("train: resume after an interruption gives bit-identical weights") {
    const fs::path a = fresh_dir("straight"), b = fresh_dir("resumed");
    train::TrainConfig c = tiny_config(a);
    c.restore_best = false;
    c.dropout = 0.3;  // the dropout stream must resume too
    train::train(c);
    c.out = b.string();
    c.stop_after = 1;
    const train::TrainResult first = train::train(c);
    CHECK(first.interrupted);
    CHECK(first.epochs_done == 1);
    CHECK_FALSE(bit_identical(model_tensors(a / "last.safetensors"), model_tensors(b / "last.safetensors")));
    const train::TrainResult second = train::resume(b.string());
    CHECK_FALSE(second.interrupted);
    CHECK(second.epochs_done == 3);
    CHECK(bit_identical(model_tensors(a / "last.safetensors"), model_tensors(b / "last.safetensors")));
    CHECK(bit_identical(model_tensors(a / "model.safetensors"), model_tensors(b / "model.safetensors")));
    fs::remove_all(a);
    fs::remove_all(b);
}

TEST_CASE("train: Ctrl-C mid-epoch saves the position, and resuming step by step gives bit-identical weights") {
    const fs::path a = fresh_dir("straight_steps"), b = fresh_dir("interrupted_steps");
    train::TrainConfig c = tiny_config(a);
    c.epochs = 2;
    c.restore_best = false;
    c.dropout = 0.3;
    train::train(c);
    // An interrupt that is already pending stops the loop after the next
    // optimizer step: every invocation below does one step and saves.
    c.out = b.string();
    train::request_interrupt();
    train::TrainResult result = train::train(c);
    int invocations = 1, mid_epoch_stops = 0;
    while (result.interrupted) {
        const train::LoadedCheckpoint saved = train::load_training_checkpoint((b / "last.safetensors").string());
        REQUIRE(saved.state);
        if (saved.state->json.at("batch").get<int64_t>() > 0) ++mid_epoch_stops;
        train::clear_interrupt();
        train::request_interrupt();
        result = train::resume(b.string());
        REQUIRE(++invocations < 40);
    }
    train::clear_interrupt();
    MESSAGE(invocations << " invocations, " << mid_epoch_stops << " of them stopped mid-epoch");
    CHECK(invocations > 4);
    CHECK(mid_epoch_stops >= invocations - 3);  // all but the stops at the epoch ends
    CHECK(result.epochs_done == 2);
    CHECK(bit_identical(model_tensors(a / "last.safetensors"), model_tensors(b / "last.safetensors")));
    CHECK(bit_identical(model_tensors(a / "model.safetensors"), model_tensors(b / "model.safetensors")));
    const std::vector<nlohmann::json> log_a = read_log(a), log_b = read_log(b);
    REQUIRE(log_a.size() == log_b.size());
    for (size_t i = 0; i + 1 < log_a.size(); ++i) CHECK(log_a[i]["train"]["loss"] == log_b[i]["train"]["loss"]);
    fs::remove_all(a);
    fs::remove_all(b);
}

TEST_CASE("train: resume keeps the per-epoch schedules (plateau counters, step count) and the log") {
    for (const char* schedule : {"plateau", "step"}) {
        CAPTURE(schedule);
        const fs::path a = fresh_dir("straight_schedule"), b = fresh_dir("resumed_schedule");
        train::TrainConfig c = tiny_config(a);
        c.model = "tiny_cnn";
        c.epochs = 6;
        c.schedule = schedule;
        c.restart_period = 2;  // step: every 2 epochs
        c.patience = 3;        // plateau: patience 1
        c.restore_best = false;
        train::train(c);
        c.out = b.string();
        c.stop_after = 3;
        train::train(c);
        train::resume(b.string());
        CHECK(bit_identical(model_tensors(a / "last.safetensors"), model_tensors(b / "last.safetensors")));
        const auto straight = read_log(a), resumed = read_log(b);
        REQUIRE(straight.size() == resumed.size());
        for (size_t i = 0; i < straight.size(); ++i) CHECK(straight[i].value("lr", 0.0) == resumed[i].value("lr", 0.0));
        fs::remove_all(a);
        fs::remove_all(b);
    }
}

TEST_CASE("early stopping: patience, min-delta, best epoch") {
    train::EarlyStopping s("min", 2, 0.01);
    CHECK(s.update(1.0, 0));
    CHECK(s.update(0.8, 1));
    CHECK_FALSE(s.update(0.795, 2));  // within min_delta
    CHECK_FALSE(s.should_stop());
    CHECK_FALSE(s.update(0.9, 3));
    CHECK(s.should_stop());
    CHECK(s.best_epoch() == 1);
    CHECK(s.best() == doctest::Approx(0.8));
    train::EarlyStopping m("max", 1, 0);
    CHECK(m.update(0.5, 0));
    CHECK_FALSE(m.update(std::nan(""), 1));  // NaN never improves
    CHECK(m.should_stop());
    train::EarlyStopping copy;
    copy.load_state(s.state());
    CHECK(copy.best_epoch() == 1);
    CHECK(copy.should_stop());
}

TEST_CASE("train: early stopping restores the best epoch's weights") {
    const fs::path dir = fresh_dir("early");
    train::TrainConfig c = tiny_config(dir);
    c.epochs = 8;
    c.lr = 0.05;      // noisy on purpose, so the val loss stops improving
    c.patience = 1;
    const train::TrainResult r = train::train(c);
    const auto log = read_log(dir);
    MESSAGE("stopped: " << r.stop_reason << " after " << r.epochs_done << ", best " << r.best_epoch + 1);
    int64_t best = -1;
    double best_loss = 1e300;
    for (size_t i = 0; i + 1 < log.size(); ++i)
        if (log[i]["val"]["loss"].get<double>() < best_loss) best_loss = log[i]["val"]["loss"].get<double>(), best = int64_t(i);
    CHECK(r.best_epoch == best);
    if (r.stop_reason == "early stopping") CHECK(r.epochs_done == r.best_epoch + 2);  // patience 1
    CHECK(bit_identical(model_tensors(dir / "model.safetensors"), model_tensors(dir / "best.safetensors")));
    if (r.best_epoch + 1 < r.epochs_done)
        CHECK_FALSE(bit_identical(model_tensors(dir / "model.safetensors"), model_tensors(dir / "last.safetensors")));
    fs::remove_all(dir);
}

TEST_CASE("threshold tuning meets its target on a fixed score set") {
    // 10 defects, 10 good parts.
    const std::vector<double> scores{0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.1,
                                     0.65, 0.45, 0.35, 0.3, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01};
    std::vector<bool> defect(20, false);
    for (int i = 0; i < 10; ++i) defect[size_t(i)] = true;
    for (double target : {0.0, 0.1, 0.25, 0.5}) {
        const train::ThresholdResult t = train::tune_threshold_for_fnr(scores, defect, target);
        CHECK(t.fnr <= target + 1e-12);
        // The largest such threshold: any higher score as threshold misses more.
        for (double s : scores)
            if (s > t.threshold) CHECK(train::evaluate_threshold(scores, defect, s).fnr > target);
    }
    const train::ThresholdResult zero = train::tune_threshold_for_fnr(scores, defect, 0.0);
    CHECK(zero.threshold == doctest::Approx(0.1));
    CHECK(zero.fpr == doctest::Approx(0.7));  // good parts scoring >= 0.1: 7 of 10
    const train::ThresholdResult f1 = train::tune_threshold_for_f1(scores, defect);
    for (double s : scores) CHECK(train::evaluate_threshold(scores, defect, s).f1 <= f1.f1 + 1e-12);
    CHECK_THROWS_AS(train::tune_threshold_for_fnr(scores, std::vector<bool>(20, false), 0.1), Error);
}

TEST_CASE("metrics: confusion, per-class P/R/F1, AUC, FNR/FPR with defects positive") {
    train::Scores s;
    s.num_classes = 2;
    s.probs = {0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.4f, 0.6f, 0.7f, 0.3f};
    s.labels = {0, 0, 1, 1, 1};
    const train::Metrics m = train::compute_metrics(s, 0);
    CHECK(m.confusion == std::vector<std::vector<int64_t>>{{2, 0}, {1, 2}});
    CHECK(m.accuracy == doctest::Approx(0.8));
    CHECK(m.fnr == doctest::Approx(1.0 / 3));
    CHECK(m.fpr == doctest::Approx(0.0));
    CHECK(m.precision[1] == doctest::Approx(1.0));
    CHECK(m.recall[1] == doctest::Approx(2.0 / 3));
    CHECK(m.roc_auc == doctest::Approx(1.0));  // defect scores 0.7, 0.6, 0.3 all above good 0.1, 0.2
    const train::Metrics t = train::compute_metrics(s, 0, 0.25);
    CHECK(t.fnr == doctest::Approx(0.0));
}

namespace {
// A toy net with the zoo's features / avgpool / classifier structure: one
// 3x3 box-filter conv (a brightness detector), ReLU, average pool, and a
// linear head that scores class 1 ("defect") by the mean response.
class ToyNet : public Module {
public:
    ToyNet() : Module("ToyNet") {
        features = register_module("features", std::make_shared<Sequential>());
        auto conv = std::make_shared<Conv2d>(1, 1, 3, conv_config(1, 1, 1, true));
        features->push_back(conv);
        features->push_back(std::make_shared<ReLU>());
        avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
        classifier = register_module("classifier", std::make_shared<Sequential>());
        auto fc = std::make_shared<Linear>(1, 2);
        classifier->push_back(fc);
        NoGradGuard no_grad;
        conv->named_parameters()[0].second.copy_(Tensor::full({1, 1, 3, 3}, 1.0 / 9));
        conv->named_parameters()[1].second.copy_(Tensor::full({1}, -0.2));
        fc->named_parameters()[0].second.copy_(Tensor::from_vector({-4, 4}, {2, 1}));
        fc->named_parameters()[1].second.copy_(Tensor::zeros({2}));
    }
    Tensor forward(const Tensor& x) override { return (*classifier)(flatten((*avgpool)((*features)(x)), 1)); }
    std::shared_ptr<Sequential> features, classifier;
    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
};
}  // namespace

TEST_CASE("grad-cam: a planted defect region lights up more than the background") {
    ToyNet net;
    const int H = 24, W = 24;
    std::vector<double> pixels(size_t(H * W), 0.1);
    for (int y = 14; y < 20; ++y)
        for (int x = 4; x < 10; ++x) pixels[size_t(y * W + x)] = 1.0;  // the "defect"
    const Tensor input = Tensor::from_vector(pixels, {1, 1, H, W});
    const train::GradCam cam = train::grad_cam(net, input, 1);
    CHECK(cam.layer == "features.1");
    double inside = 0, outside = 0;
    int n_in = 0, n_out = 0;
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const bool in = y >= 14 && y < 20 && x >= 4 && x < 10;
            (in ? inside : outside) += cam.heatmap[size_t(y * W + x)];
            (in ? n_in : n_out) += 1;
        }
    inside /= n_in, outside /= n_out;
    MESSAGE("mean heat inside " << inside << ", outside " << outside);
    CHECK(inside > 0.6);  // the box filter blurs the square's edges
    CHECK(inside > 10 * outside);
    CHECK(outside < 0.2);
    CHECK_THROWS_AS(train::grad_cam(net, input, 1, "nope"), Error);
}
