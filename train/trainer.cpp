#include "train/trainer.h"

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "data/loader.h"
#include "data/split.h"
#include "data/transforms.h"
#include "engine/autograd.h"
#include "engine/file.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "engine/utf8.h"
#include "layers/class_weights.h"
#include "optim/clip.h"
#include "optim/schedule.h"
#include "train/checkpoint_state.h"
#include "train/data_setup.h"
#include "train/early_stopping.h"
#include "train/report.h"
#include "train/threshold.h"

namespace kiln::train {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------ Ctrl-C

namespace {
std::atomic<int> interrupt_count{0};
extern "C" void on_sigint(int) {
    if (interrupt_count.fetch_add(1) >= 1) {
        std::signal(SIGINT, SIG_DFL);
        std::raise(SIGINT);
    }
}
}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
void request_interrupt() { interrupt_count.fetch_add(1); }
bool interrupt_requested() { return interrupt_count.load() > 0; }
void clear_interrupt() { interrupt_count.store(0); }

// ------------------------------------------------------------------ pieces

namespace {

// The process's peak resident set so far (getrusage; KiB on Linux), logged
// each epoch: a long run on the same data must not grow it after the first.
int64_t peak_rss_kib() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return int64_t(usage.ru_maxrss);
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// splitmix64: the batch's dropout seed from (seed, epoch, batch).
uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t batch) {
    return mix(mix(mix(seed) ^ uint64_t(epoch)) ^ uint64_t(batch));
}

class Criterion : public LossFn {
public:
    Criterion(const TrainConfig& c, Tensor weights) : config_(c), weights_(std::move(weights)) {}
    Tensor operator()(const Tensor& logits, const Tensor& labels) const override {
        if (config_.loss == "focal") {
            FocalLossOptions o;
            o.gamma = config_.focal_gamma;
            if (weights_.defined()) o.alpha = weights_.to(logits.device());
            return focal_loss(logits, labels, o);
        }
        CrossEntropyOptions o;
        if (weights_.defined()) o.class_weights = weights_.to(logits.device());
        o.label_smoothing = config_.label_smoothing;
        return cross_entropy(logits, labels, o);
    }

private:
    TrainConfig config_;
    Tensor weights_;
};

Tensor class_weights_for(const std::string& spec, const std::vector<int64_t>& counts, int64_t good) {
    if (spec == "none") return Tensor();
    std::vector<double> w;
    if (spec == "balanced") w = balanced_weights(counts);
    else if (spec == "inverse") w = inverse_frequency_weights(counts);
    else if (spec == "effective") w = effective_number_weights(counts);
    else if (spec == "defect") w = defect_factor_weights(counts, default_defect_factor, good < 0 ? 0 : good);
    else {
        std::stringstream in(spec);
        std::string item;
        while (std::getline(in, item, ',')) {
            try {
                size_t used = 0;
                w.push_back(std::stod(item, &used));
                KILN_CHECK(used == item.size() && w.back() >= 0, "");
            } catch (...) {
                fail("--class-weights: \"", spec, "\" is not none, balanced, inverse, effective, defect or a list of weights");
            }
        }
        KILN_CHECK(w.size() == counts.size(), "--class-weights: ", w.size(), " weights for ", counts.size(), " classes");
    }
    return class_weights_tensor(w);
}

// Progress on a terminal: one line rewritten in place.
class Progress {
public:
    explicit Progress(bool on) : on_(on) {}
    void update(int64_t epoch, int64_t epochs, int64_t batch, int64_t batches, double loss, double images_per_s) {
        if (!on_) return;
        const double eta = images_per_s > 0 ? double(batches - batch) * last_batch_images_ / images_per_s : 0;
        const int width = 24, filled = int(double(width) * double(batch) / double(std::max<int64_t>(1, batches)));
        std::fprintf(stderr, "\repoch %lld/%lld [%s%s] %lld/%lld loss %.4f %.0f img/s ETA %.0fs   ", (long long)epoch + 1,
                     (long long)epochs, std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), '.').c_str(),
                     (long long)batch, (long long)batches, loss, images_per_s, eta);
        std::fflush(stderr);
    }
    void set_batch_images(double n) { last_batch_images_ = n; }
    void clear() {
        if (on_) std::fprintf(stderr, "\r%*s\r", 100, "");
    }

private:
    bool on_;
    double last_batch_images_ = 32;
};

std::string fmt(double v, const char* f = "%.4f") {
    if (!std::isfinite(v)) return "n/a";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, f, v);
    return buffer;
}

struct Run {
    TrainConfig config;
    fs::path dir;
    data::ImageDataset dataset;
    data::Split split;
    std::vector<float> mean, std;
    int64_t good = -1;
    Device device;
    std::shared_ptr<Module> model;
    CheckpointInfo info;
    std::unique_ptr<optim::Optimizer> optimizer;
    std::unique_ptr<optim::LRScheduler> schedule;
    std::unique_ptr<optim::ReduceLROnPlateau> plateau;
    std::unique_ptr<Criterion> criterion;
    int64_t batch_size = 32, accumulate = 1;
    EarlyStopping stopping;
    const json* resumed = nullptr;  // the checkpoint's train_state, when resuming
    int64_t epoch = 0, batch = 0, global_step = 0;  // position to continue from
    Scores partial;
    double partial_loss_sum = 0;
    int64_t partial_images = 0;
};

TrainState make_state(const Run& r) {
    TrainState s;
    s.json = {{"config", to_json(r.config)}, {"epoch", r.epoch}, {"batch", r.batch}, {"global_step", r.global_step},
              {"batch_size", r.batch_size}, {"accumulate", r.accumulate}, {"early_stopping", r.stopping.state()},
              {"plateau", r.plateau ? json(r.plateau->state_dict()) : json()},
              {"partial_loss_sum", r.partial_loss_sum}, {"partial_images", r.partial_images}};
    s.optimizer = r.optimizer->state_dict();
    s.partial = r.partial;
    return s;
}

void save(const Run& r, const std::string& name, bool with_state = true) {
    const TrainState state = make_state(r);
    save_training_checkpoint((r.dir / name).string(), *r.model, r.info, with_state ? &state : nullptr);
}

void write_json_file(const fs::path& path, const json& j) {
    write_file_atomically(path.string(), {j.dump(2), "\n"}, "train");
}

// log.jsonl is appended to, a line per epoch (so `tail -f` follows it), and
// is the run's only copy of the epoch history: memory and checkpoints stay
// the same size however long a run is. A kill in the middle of a line leaves
// half a line, which --resume rewrites away.
void append_log(const Run& r, const json& record) {
    append_to_file((r.dir / "log.jsonl").string(), record.dump() + "\n", "train");
}

// The epoch records of log.jsonl up to epoch `last` (1-based), in order;
// lines that do not parse (half a line of a killed run) are skipped.
json read_epoch_records(const fs::path& log, int64_t last) {
    json records = json::array();
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) {
        const json record = json::parse(line, nullptr, false);
        if (record.is_object() && record.contains("epoch") && record["epoch"].is_number_integer() &&
            record["epoch"].get<int64_t>() <= last)
            records.push_back(record);
    }
    return records;
}

// Fractional epoch of the per-batch schedules.
void schedule_batch(Run& r, int64_t epoch, int64_t batch, int64_t batches) {
    if (auto* restarts = dynamic_cast<optim::CosineAnnealingWarmRestarts*>(r.schedule.get()))
        restarts->step_to(double(epoch) + double(batch) / double(batches));
    else if (r.config.schedule == "cosine" || r.config.schedule == "onecycle") {
        while (r.schedule->steps_taken() < r.global_step) r.schedule->step();
    }
}

void setup(Run& r) {
    const TrainConfig& c = r.config;
    check_config(c);
    if (c.threads > 0) omp_set_num_threads(c.threads);
    r.device = Device::parse(c.device);
    r.dataset = open_run_dataset({c.data, c.size, c.grayscale, c.binary, c.limit_per_class});
    // Class names go into every checkpoint's JSON header (file names need not:
    // split.json writes those that are not UTF-8 as hex).
    for (const std::string& name : r.dataset.class_names())
        KILN_CHECK(is_valid_utf8(name), "data: ", c.data, ": the class name \"", name,
                   "\" is not valid UTF-8 (checkpoints store class names as JSON text); rename its folder");
    fs::create_directories(r.dir);
    remove_stale_temporaries(r.dir.string());  // of a run killed while writing a file
    r.split = data::split_or_load((r.dir / "split.json").string(), r.dataset, data::parse_split_ratios(c.split), c.seed);
    KILN_CHECK(!r.split.train.empty() && !r.split.val.empty(), "data: ", c.data,
               ": the split leaves no training or validation images");
    const data::ChannelStats stats = data::channel_stats(r.dataset, r.split.train);
    r.mean = stats.mean, r.std = stats.std;
    r.good = good_class_index(r.dataset.class_names());

    models::ModelConfig mc;
    mc.num_classes = r.dataset.num_classes();
    mc.in_channels = r.dataset.channels();
    mc.width = c.width;
    if (c.dropout >= 0) mc.dropout = c.dropout;
    mc.seed = c.seed;
    r.model = models::make_model(c.model, mc);
    if (!c.pretrained.empty()) {
        // A kiln checkpoint of the same zoo model, or plain safetensors; tensors
        // whose shape differs (the head, for other classes) are left as initialised.
        SafetensorsContents contents = read_safetensors(c.pretrained);
        const auto it = contents.metadata.find("model");
        KILN_CHECK(it == contents.metadata.end() || json::parse(it->second).get<std::string>() == c.model,
                   "--pretrained: ", c.pretrained, " is for model ", it->second, ", not \"", c.model, "\"");
        const StateDict own = r.model->state_dict();
        StateDict fitting;
        for (auto& [key, tensor] : contents.tensors) {
            const auto mine = own.find(key);
            if (mine != own.end() && mine->second.shape() == tensor.shape()) fitting[key] = tensor;
        }
        KILN_CHECK(!fitting.empty(), "--pretrained: ", c.pretrained, ": no tensor fits model \"", c.model, "\"");
        r.model->load_state_dict(fitting, false);
    }
    r.info.model = c.model;
    r.info.config = mc;
    r.info.class_names = r.dataset.class_names();
    r.info.input_size = {c.size, c.size};
    r.info.mean.assign(r.mean.begin(), r.mean.end());
    r.info.std.assign(r.std.begin(), r.std.end());
    try {
        r.model->to(r.device);
    } catch (const Error& error) {
        fail("--device ", c.device, ": ", std::string(error.what()).substr(std::string("kiln::Error: ").size()));
    }

    // Batch size (auto: the finder, then accumulation up to --effective-batch).
    if (c.batch_size == "auto") {
        r.batch_size = find_batch_size(c, r.dataset.num_classes(), r.dataset.channels());
        r.accumulate = c.effective_batch > r.batch_size ? (c.effective_batch + r.batch_size - 1) / r.batch_size : c.accumulate;
    } else {
        r.batch_size = std::stoll(c.batch_size);
        r.accumulate = c.accumulate;
    }

    // AdamW-style decay on weights only (not biases or BatchNorm), as is usual.
    std::vector<Tensor> decay, no_decay;
    for (const auto& [name, p] : r.model->named_parameters()) (p.dim() > 1 ? decay : no_decay).push_back(p);
    std::vector<optim::ParamGroup> groups{{decay, {{"weight_decay", c.weight_decay}}}};
    if (!no_decay.empty()) groups.push_back({no_decay, {{"weight_decay", 0.0}}});
    optim::Options defaults{{"lr", c.lr}};
    if (c.optimizer == "sgd") defaults["momentum"] = 0.9;
    r.optimizer = optim::make_optimizer(c.optimizer, groups, defaults);

    const std::vector<int64_t> counts = [&] {
        std::vector<int64_t> n(size_t(r.dataset.num_classes()), 0);
        for (size_t i : r.split.train) ++n[size_t(r.dataset.sample(i).label)];
        return n;
    }();
    r.criterion = std::make_unique<Criterion>(c, class_weights_for(c.class_weights, counts, r.good));
    r.stopping = EarlyStopping(EarlyStopping::mode_for(c.monitor), c.patience, c.min_delta);
}

void build_schedule(Run& r, int64_t batches) {
    const TrainConfig& c = r.config;
    const int64_t steps = c.epochs * batches;
    if (c.schedule == "cosine_restarts")
        r.schedule = std::make_unique<optim::CosineAnnealingWarmRestarts>(*r.optimizer, c.restart_period, c.restart_mult, c.min_lr);
    else if (c.schedule == "cosine")
        r.schedule = std::make_unique<optim::CosineAnnealingLR>(*r.optimizer, steps, c.min_lr);
    else if (c.schedule == "onecycle")
        r.schedule = std::make_unique<optim::OneCycleLR>(*r.optimizer, c.lr, steps + 1);
    else if (c.schedule == "step")
        r.schedule = std::make_unique<optim::StepLR>(*r.optimizer, c.restart_period);
    else if (c.schedule == "plateau") {
        optim::ReduceLROnPlateau::Options o;
        o.mode = r.stopping.mode_for(c.monitor);
        o.patience = std::max<int64_t>(1, c.patience / 3);
        o.min_lr = c.min_lr;
        r.plateau = std::make_unique<optim::ReduceLROnPlateau>(*r.optimizer, o);
    }
}

Metrics evaluate(Run& r, const std::vector<size_t>& subset, std::optional<double> threshold = std::nullopt) {
    double loss = 0;
    const Scores s = predict(*r.model, r.dataset, subset, r.mean, r.std, std::max<int64_t>(r.batch_size, 32), r.device,
                             r.criterion.get(), &loss);
    return compute_metrics(s, r.good, threshold, loss);
}

std::string metrics_line(const Metrics& m) {
    return "loss " + fmt(m.loss) + " acc " + fmt(m.accuracy) + " macro-F1 " + fmt(m.macro_f1) + " AUC " +
           fmt(m.roc_auc) + " FNR " + fmt(m.fnr) + " FPR " + fmt(m.fpr);
}

TrainResult run_loop(Run& r, int64_t stop_after, const optim::OptimizerState* saved_optimizer = nullptr) {
    const TrainConfig& c = r.config;
    const auto start = Clock::now();
    TrainResult result;
    result.batch_size = r.batch_size;
    result.accumulate = r.accumulate;
    data::LoaderOptions lo;
    lo.batch_size = r.batch_size;
    lo.workers = c.workers;
    lo.seed = c.seed;
    lo.sampler = data::parse_sampler(c.sampler);
    lo.mean = r.mean, lo.std = r.std;
    // On a GPU the batches are built in pinned memory and copied without waiting (data/loader.h).
    lo.pin_memory = r.device.kind == Device::Kind::cuda;
    const data::AugmentConfig augment = data::parse_augment(c.augment);
    lo.augment = augment.geometric() || c.augment != "none";
    lo.augmentation = c.defect_augment.empty()
                          ? data::AugmentPolicy{augment, {}}
                          : data::good_and_defect_policy(r.dataset.class_names(), augment, data::parse_augment(c.defect_augment));
    data::DataLoader loader(r.dataset, r.split.train, lo);
    const int64_t batches = loader.batches_per_epoch();
    build_schedule(r, batches);
    // Brings the per-epoch schedules to the saved position (step: one step per
    // epoch done; plateau: its saved counters); the optimizer state loaded
    // later holds the lr.
    if (c.schedule == "step")
        for (int64_t e = 0; e < r.epoch; ++e) r.schedule->step();
    if (r.plateau && r.resumed) {
        const json saved = r.resumed->value("plateau", json());
        if (saved.is_object()) r.plateau->load_state_dict(saved.get<std::map<std::string, double>>());
        else  // a checkpoint of an older kiln, which kept the epoch history instead
            for (const json& h : r.resumed->value("history", json::array())) r.plateau->step(h.at("val").at(c.monitor).get<double>());
    }
    // A schedule takes its base lr from the optimizer when built: build it
    // first, then restore the optimizer (whose groups hold the current lr).
    if (saved_optimizer) r.optimizer->load_state_dict(*saved_optimizer);
    const bool tty = ::isatty(2);
    Progress progress(tty);
    std::printf("kiln train: %s, %zu classes, %zu train / %zu val / %zu test images, %s on %s, batch %lld x %lld, %lld epochs\n",
                c.data.c_str(), r.dataset.class_names().size(), r.split.train.size(), r.split.val.size(),
                r.split.test.size(), c.model.c_str(), r.device.str().c_str(), (long long)r.batch_size,
                (long long)r.accumulate, (long long)c.epochs);
    std::fflush(stdout);
    int64_t epochs_this_call = 0;
    bool stop = false;
    while (r.epoch < c.epochs && !stop) {
        const auto epoch_start = Clock::now();
        r.model->train();
        loader.start_epoch(r.epoch);
        optim::GradientAccumulation accumulation(r.accumulate);
        data::Batch batch;
        int64_t k = 0;
        r.partial.num_classes = r.dataset.num_classes();
        while (loader.next(batch)) {
            if (k++ < r.batch) continue;  // resumed mid-epoch: these were done
            const int64_t b = k - 1;
            if (r.schedule) schedule_batch(r, r.epoch, b, batches);
            manual_seed(batch_seed(c.seed, r.epoch, b));
            const Tensor logits = (*r.model)(batch.images.to(r.device, lo.pin_memory));
            const Tensor loss = (*r.criterion)(logits, batch.labels.to(r.device, lo.pin_memory));
            const double value = loss.item();
            if (!std::isfinite(value)) {
                progress.clear();
                fail("training stopped: the loss is ", value, " at epoch ", r.epoch + 1, ", step ", r.global_step + 1,
                     " (batch ", b + 1, " of ", batches, "); the last good checkpoint is ", (r.dir / "last.safetensors").string(),
                     " (lower --lr, or keep --grad-clip on)");
            }
            (r.accumulate > 1 ? loss * accumulation.loss_scale() : loss).backward();
            const bool last_batch = b + 1 == batches;
            if (accumulation.micro_batch_done() || last_batch) {
                if (c.grad_clip > 0) optim::clip_grad_norm(r.model->trainable_parameters(), c.grad_clip);
                r.optimizer->step();
                r.optimizer->zero_grad();
                ++r.global_step;
            }
            {
                NoGradGuard no_grad;
                for (double p : softmax(logits.detach(), 1).to(Device::cpu()).to_vector()) r.partial.probs.push_back(float(p));
            }
            for (double l : batch.labels.to_vector()) r.partial.labels.push_back(int64_t(l));
            const int64_t n = int64_t(batch.indices.size());
            r.partial_loss_sum += value * double(n);
            r.partial_images += n;
            r.batch = b + 1;
            progress.set_batch_images(double(n));
            progress.update(r.epoch, c.epochs, b + 1, batches, r.partial_loss_sum / double(r.partial_images),
                            double(r.partial_images) / seconds_since(epoch_start));
            if (interrupt_requested() && r.global_step > 0 && (r.batch % r.accumulate == 0 || last_batch) && !last_batch) {
                progress.clear();
                save(r, "last.safetensors");
                std::printf("interrupted: saved %s at epoch %lld, batch %lld; continue with: kiln train --resume %s\n",
                            (r.dir / "last.safetensors").string().c_str(), (long long)r.epoch + 1, (long long)r.batch,
                            r.dir.string().c_str());
                result.interrupted = true;
                result.stop_reason = "interrupted";
                result.epochs_done = r.epoch;
                result.seconds = seconds_since(start);
                return result;
            }
        }
        progress.clear();
        const double train_seconds = seconds_since(epoch_start);
        const Metrics train_m = compute_metrics(r.partial, r.good, std::nullopt, r.partial_loss_sum / double(std::max<int64_t>(1, r.partial_images)));
        const Metrics val_m = evaluate(r, r.split.val);
        const double monitored = metric_value(val_m, c.monitor);
        const bool improved = r.stopping.update(monitored, r.epoch);
        if (r.plateau) r.plateau->step(monitored);
        if (c.schedule == "step") r.schedule->step();
        json record = {{"epoch", r.epoch + 1}, {"lr", r.optimizer->lr(0)}, {"train", to_json(train_m)}, {"val", to_json(val_m)},
                       {"seconds", seconds_since(epoch_start)}, {"images_per_second", double(r.partial_images) / train_seconds},
                       {"peak_rss_kib", peak_rss_kib()}, {"best", improved}};
        append_log(r, record);
        std::printf("epoch %3lld/%lld  train %s | val %s | lr %.2e  %.0f img/s%s\n", (long long)r.epoch + 1,
                    (long long)c.epochs, ("loss " + fmt(train_m.loss) + " acc " + fmt(train_m.accuracy)).c_str(),
                    metrics_line(val_m).c_str(), r.optimizer->lr(0), double(r.partial_images) / train_seconds,
                    improved ? "  *best" : "");
        std::fflush(stdout);
        ++r.epoch;
        r.batch = 0;
        r.partial = Scores{};
        r.partial_loss_sum = 0;
        r.partial_images = 0;
        if (improved) save(r, "best.safetensors");
        save(r, "last.safetensors");
        ++epochs_this_call;
        if (r.stopping.should_stop()) stop = true, result.stop_reason = "early stopping";
        if (c.stop_accuracy > 0 && val_m.accuracy >= c.stop_accuracy) stop = true, result.stop_reason = "target accuracy";
        if (!stop && r.epoch < c.epochs && ((stop_after > 0 && epochs_this_call >= stop_after) || interrupt_requested())) {
            std::printf("interrupted after epoch %lld: continue with: kiln train --resume %s\n", (long long)r.epoch,
                        r.dir.string().c_str());
            result.interrupted = true;
            result.stop_reason = "interrupted";
            result.epochs_done = r.epoch;
            result.seconds = seconds_since(start);
            return result;
        }
    }
    if (result.stop_reason.empty()) result.stop_reason = "epochs";
    result.epochs_done = r.epoch;
    result.best_epoch = r.stopping.best_epoch();

    // Restore the best epoch's weights, tune the threshold on val, test.
    if (c.restore_best && fs::exists(r.dir / "best.safetensors")) {
        LoadedCheckpoint best = load_training_checkpoint((r.dir / "best.safetensors").string(), c.model);
        r.model->load_state_dict(best.model->state_dict());
        std::printf("restored the best epoch (%lld, val %s %s)\n", (long long)result.best_epoch + 1, c.monitor.c_str(),
                    fmt(r.stopping.best()).c_str());
    }
    std::optional<ThresholdResult> tuned;
    const Scores val_scores = predict(*r.model, r.dataset, r.split.val, r.mean, r.std, 64, r.device);
    if (r.good >= 0) {
        const std::vector<double> s = defect_scores(val_scores, r.good);
        std::vector<bool> defect(val_scores.size());
        for (size_t i = 0; i < defect.size(); ++i) defect[i] = val_scores.labels[i] != r.good;
        tuned = c.target_fnr >= 0 ? tune_threshold_for_fnr(s, defect, c.target_fnr) : tune_threshold_for_f1(s, defect);
        r.info.threshold = tuned->threshold;
        std::printf("threshold %.4f tuned on val (%s): FNR %s FPR %s F1 %s\n", tuned->threshold, tuned->goal.c_str(),
                    fmt(tuned->fnr).c_str(), fmt(tuned->fpr).c_str(), fmt(tuned->f1).c_str());
    }
    result.val = evaluate(r, r.split.val, r.info.threshold);
    result.test = r.split.test.empty() ? Metrics{} : evaluate(r, r.split.test, r.info.threshold);
    if (tuned) r.info.extra["threshold_goal"] = json(tuned->goal).dump();
    save(r, "model.safetensors", false);
    if (fs::exists(r.dir / "best.safetensors")) {
        LoadedCheckpoint best = load_training_checkpoint((r.dir / "best.safetensors").string(), c.model);
        best.info.threshold = r.info.threshold;
        best.info.extra = r.info.extra;
        save_training_checkpoint((r.dir / "best.safetensors").string(), *best.model, best.info, best.state ? &*best.state : nullptr);
    }
    result.seconds = seconds_since(start);
    json final_record = {{"final", true}, {"stop_reason", result.stop_reason}, {"best_epoch", result.best_epoch + 1},
                         {"val", to_json(result.val)}, {"seconds", result.seconds}};
    if (!r.split.test.empty()) final_record["test"] = to_json(result.test);
    if (tuned) final_record["threshold"] = {{"value", tuned->threshold}, {"goal", tuned->goal}, {"val_fnr", tuned->fnr}, {"val_fpr", tuned->fpr}};
    append_log(r, final_record);
    write_json_file(r.dir / "metrics.json", final_record);
    std::printf("stopped: %s after %lld epochs; best epoch %lld\n", result.stop_reason.c_str(), (long long)result.epochs_done,
                (long long)result.best_epoch + 1);
    if (!r.split.test.empty()) std::printf("test (%lld images): %s\n", (long long)result.test.count, metrics_line(result.test).c_str());
    if (c.report) {
        ReportInput in;
        in.title = "kiln run " + r.dir.string();
        in.config = to_json(c);
        in.history = read_epoch_records(r.dir / "log.jsonl", r.epoch);
        in.final_record = final_record;
        in.class_names = r.dataset.class_names();
        in.good_class = r.good;
        in.val_scores = val_scores;
        in.test_scores = r.split.test.empty() ? Scores{} : predict(*r.model, r.dataset, r.split.test, r.mean, r.std, 64, r.device);
        in.threshold = r.info.threshold;
        in.model = r.model.get();
        in.dataset = &r.dataset;
        in.test_indices = r.split.test;
        in.mean = r.mean, in.std = r.std;
        in.device = r.device;
        write_report((r.dir / "report.html").string(), in);
        std::printf("report: %s\n", (r.dir / "report.html").string().c_str());
    }
    std::printf("done in %.1f s: %s\n", result.seconds, r.dir.string().c_str());
    return result;
}

}  // namespace

TrainResult train(const TrainConfig& config) {
    Run r;
    r.config = config;
    r.dir = config.out;
    KILN_CHECK(!fs::exists(r.dir / "last.safetensors"), "--out ", config.out,
               " already holds a run (last.safetensors): continue it with --resume ", config.out, ", or choose another --out");
    setup(r);
    fs::remove(r.dir / "log.jsonl");
    write_json_file(r.dir / "config.json", to_json(config));
    return run_loop(r, config.stop_after);
}

TrainResult resume(const std::string& run_dir, int64_t stop_after) {
    const fs::path last = fs::path(run_dir) / "last.safetensors";
    KILN_CHECK(fs::is_regular_file(last), "--resume ", run_dir, ": no last.safetensors there (not a kiln run folder?)");
    LoadedCheckpoint saved = load_training_checkpoint(last.string());
    KILN_CHECK(saved.state.has_value(), "--resume ", run_dir, ": last.safetensors has no training state");
    const json& s = saved.state->json;
    Run r;
    r.config = config_from_json(s.at("config"));
    r.dir = run_dir;
    setup(r);
    KILN_CHECK(saved.info.model == r.config.model, "--resume: checkpoint is for model \"", saved.info.model, "\"");
    r.model->load_state_dict(saved.model->state_dict());
    r.batch_size = s.at("batch_size").get<int64_t>();
    r.accumulate = s.at("accumulate").get<int64_t>();
    r.epoch = s.at("epoch").get<int64_t>();
    r.batch = s.at("batch").get<int64_t>();
    r.global_step = s.at("global_step").get<int64_t>();
    r.stopping.load_state(s.at("early_stopping"));
    r.resumed = &s;
    r.partial = saved.state->partial;
    r.partial_loss_sum = s.at("partial_loss_sum").get<double>();
    r.partial_images = s.at("partial_images").get<int64_t>();
    std::printf("resuming %s at epoch %lld, batch %lld (step %lld)\n", run_dir.c_str(), (long long)r.epoch + 1,
                (long long)r.batch, (long long)r.global_step);
    // log.jsonl back to the checkpoint's epoch: without the line of an epoch
    // logged after it (a run killed before its checkpoint write), or half a line.
    const json records = read_epoch_records(r.dir / "log.jsonl", r.epoch);
    if (int64_t(records.size()) != r.epoch)
        std::fprintf(stderr, "kiln: warning: %s/log.jsonl holds %zu of the %lld epochs before the checkpoint "
                             "(edited or lost?); report.html will show those it has\n",
                     run_dir.c_str(), records.size(), (long long)r.epoch);
    std::string log;
    for (const json& h : records) log += h.dump() + "\n";
    write_file_atomically((r.dir / "log.jsonl").string(), {log}, "train");
    return run_loop(r, stop_after, &saved.state->optimizer);
}

int64_t find_batch_size(const TrainConfig& config, int64_t num_classes, int channels) {
    models::ModelConfig mc;
    mc.num_classes = num_classes;
    mc.in_channels = channels;
    mc.width = config.width;
    mc.seed = config.seed;
    auto model = models::make_model(config.model, mc);
    const Device device = Device::parse(config.device);
    model->to(device);
    int64_t best = 1;
    for (int64_t b = 1; b <= 256; b *= 2) {
        try {
            const Tensor x = Tensor::zeros({b, channels, config.size, config.size}).to(device);
            const Tensor labels = Tensor::from_int64(std::vector<int64_t>(size_t(b), 0), {b}).to(device);
            cross_entropy((*model)(x), labels).backward();
            model->zero_grad();
            best = b;
        } catch (const std::bad_alloc&) {
            break;
        } catch (const Error& error) {
            if (std::string(error.what()).find("memory") == std::string::npos) throw;
            break;
        }
    }
    std::printf("--batch-size auto: %lld\n", (long long)best);
    return best;
}

}  // namespace kiln::train
