#include "data/loader.h"

#include <algorithm>
#include <cstring>

namespace kiln::data {

namespace {
constexpr uint64_t augment_stream_tag = 0x6175676dull;  // "augm"
}

DataLoader::DataLoader(const ImageDataset& dataset, std::vector<size_t> subset, LoaderOptions options)
    : dataset_(dataset), subset_(std::move(subset)), options_(std::move(options)) {
    if (subset_.empty()) subset_ = sequential_order(dataset_.size());
    KILN_CHECK(!subset_.empty(), "loader: the dataset is empty");
    KILN_CHECK(options_.batch_size > 0, "loader: batch size must be positive, got ", options_.batch_size);
    KILN_CHECK(options_.workers >= 0 && options_.workers <= 256, "loader: workers must be in [0, 256], got ",
               options_.workers);
    KILN_CHECK(options_.prefetch >= 1, "loader: prefetch must be at least 1, got ", options_.prefetch);
    KILN_CHECK(options_.samples_per_epoch >= 0, "loader: samples per epoch must be >= 0");
    for (size_t i : subset_)
        KILN_CHECK(i < dataset_.size(), "loader: subset index ", i, " outside the dataset's ", dataset_.size());
    for (size_t i : subset_) subset_labels_.push_back(dataset_.sample(i).label);
    if (options_.sampler == SamplerKind::weighted) {
        if (options_.weights.empty()) options_.weights = inverse_frequency_weights(subset_labels_, dataset_.num_classes());
        KILN_CHECK(options_.weights.size() == subset_.size(), "loader: ", options_.weights.size(), " weights for ",
                   subset_.size(), " samples");
    }
    const size_t channels = static_cast<size_t>(dataset_.channels());
    KILN_CHECK(options_.mean.size() == options_.std.size() && (options_.mean.empty() || options_.mean.size() == channels),
               "loader: normalisation needs ", channels, " means and stds, got ", options_.mean.size(), " and ",
               options_.std.size());
    for (float s : options_.std) KILN_CHECK(s > 0, "loader: normalisation std ", s, " must be positive");
    if (options_.augment) {  // a bad setting fails here, not later in a worker
        SampleRng rng(0, 0);
        augment(Image(4, 4, dataset_.channels()), options_.augmentation.config, rng);
        for (const auto& [label, config] : options_.augmentation.per_class) augment(Image(4, 4, dataset_.channels()), config, rng);
    }
}

DataLoader::~DataLoader() { stop_workers(); }

size_t DataLoader::samples_per_epoch() const {
    if (options_.sampler == SamplerKind::weighted || options_.sampler == SamplerKind::balanced)
        return options_.samples_per_epoch > 0 ? size_t(options_.samples_per_epoch) : subset_.size();
    return subset_.size();
}

int64_t DataLoader::batches_per_epoch() const {
    const int64_t n = int64_t(samples_per_epoch()), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<size_t> DataLoader::epoch_order(int64_t epoch) const {
    std::vector<size_t> positions;
    switch (options_.sampler) {
    case SamplerKind::sequential: positions = sequential_order(subset_.size()); break;
    case SamplerKind::shuffle: positions = shuffled_order(subset_.size(), options_.seed, epoch); break;
    case SamplerKind::weighted:
        positions = weighted_order(options_.weights, samples_per_epoch(), options_.seed, epoch);
        break;
    case SamplerKind::balanced:
        positions = balanced_order(subset_labels_, dataset_.num_classes(), options_.batch_size, samples_per_epoch(),
                                   options_.seed, epoch);
        break;
    }
    std::vector<size_t> order;
    order.reserve(positions.size());
    for (size_t p : positions) order.push_back(subset_[p]);
    return order;
}

Batch DataLoader::build_batch(int64_t epoch, int64_t number) const {
    const std::vector<size_t> order = epoch == epoch_ ? std::vector<size_t>() : epoch_order(epoch);
    const std::vector<size_t>& o = epoch == epoch_ ? order_ : order;
    const int64_t first = number * options_.batch_size;
    KILN_CHECK(number >= 0 && first < int64_t(o.size()), "loader: batch ", number, " is past the epoch's end");
    const int64_t n = std::min<int64_t>(options_.batch_size, int64_t(o.size()) - first);
    const int64_t c = dataset_.channels(), h = dataset_.height(), w = dataset_.width();
    Batch batch;
    batch.number = number;
    batch.images = options_.pin_memory ? Tensor::empty_pinned({n, c, h, w}) : Tensor::empty({n, c, h, w});
    float* out = batch.images.data<float>();
    std::vector<int64_t> labels;
    const uint64_t key = stream_key(options_.seed, augment_stream_tag, uint64_t(epoch));
    for (int64_t i = 0; i < n; ++i) {
        const size_t index = o[static_cast<size_t>(first + i)];
        const int64_t label = dataset_.sample(index).label;
        Image image = dataset_.load(index);
        if (options_.augment) {
            SampleRng rng(key, uint64_t(first + i));  // (seed, epoch, position in the epoch)
            image = augment(image, options_.augmentation.for_class(label), rng);
        }
        write_chw(image, out + i * c * h * w, options_.mean, options_.std);
        labels.push_back(label);
        batch.indices.push_back(index);
    }
    batch.labels = Tensor::from_int64(labels, {n});
    if (options_.pin_memory) batch.labels = batch.labels.pin_memory();
    return batch;
}

void DataLoader::stop_workers() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stopping_ = false;
}

void DataLoader::start_epoch(int64_t epoch) {
    KILN_CHECK(epoch >= 0, "loader: epoch must be >= 0, got ", epoch);
    stop_workers();
    epoch_ = epoch;
    order_ = epoch_order(epoch);
    batch_count_ = batches_per_epoch();
    next_to_build_ = next_to_hand_out_ = 0;
    ready_.clear();
    errors_.clear();
    for (int t = 0; t < options_.workers; ++t) workers_.emplace_back([this] { worker_loop(); });
}

void DataLoader::worker_loop() {
    for (;;) {
        int64_t number;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] {
                return stopping_ ||
                       (next_to_build_ < batch_count_ && next_to_build_ < next_to_hand_out_ + options_.prefetch);
            });
            if (stopping_) return;
            number = next_to_build_++;
        }
        Batch batch;
        std::exception_ptr error;
        try {
            batch = build_batch(epoch_, number);
        } catch (...) {
            error = std::current_exception();
        }
        {
            std::lock_guard lock(mutex_);
            if (error) errors_[number] = error;
            else ready_[number] = std::move(batch);
        }
        changed_.notify_all();
    }
}

bool DataLoader::next(Batch& batch) {
    KILN_CHECK(epoch_ >= 0, "loader: call start_epoch before next");
    if (next_to_hand_out_ >= batch_count_) return false;
    if (options_.workers == 0) {
        batch = build_batch(epoch_, next_to_hand_out_++);
        return true;
    }
    std::exception_ptr error;
    {
        std::unique_lock lock(mutex_);
        const int64_t number = next_to_hand_out_;
        changed_.wait(lock, [&] { return ready_.count(number) || errors_.count(number); });
        if (errors_.count(number)) {
            error = errors_[number];
            errors_.erase(number);
        } else {
            batch = std::move(ready_[number]);
            ready_.erase(number);
        }
        ++next_to_hand_out_;
    }
    changed_.notify_all();
    if (error) std::rethrow_exception(error);
    return true;
}

}  // namespace kiln::data
