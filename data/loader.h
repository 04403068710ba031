#pragma once
// DataLoader: ready float32 NCHW batches from a dataset, built by worker
// threads ahead of the trainer.
//
// An epoch's order comes from the sampler (data/sampler.h); batch k holds
// positions [k B, (k+1) B) of it. Every batch is a pure function of (seed,
// epoch, k): each sample is augmented with SampleRng keyed by (seed, epoch)
// and its position in the epoch. Workers take batch numbers from a counter
// and at most `prefetch` batches wait ahead of the consumer; next() hands
// them out in order 0, 1, 2, ... So the bytes of every batch are the same for
// 0 (build in the calling thread), 1 or N workers.
//
// With `pin_memory` the workers build every batch in pinned host memory
// (Tensor::pin_memory), so that `batch.images.to(Device::cuda(), true)` is an
// asynchronous copy on the current stream (engine/stream.h): the copy of one
// batch overlaps the host's work on the next, and the batch's block is not
// reused before its copy has finished. It needs a usable GPU (next() rethrows
// the one-line "cuda: no GPU" error otherwise); the trainer sets it when it
// trains on cuda.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/sampler.h"
#include "data/transforms.h"

namespace kiln::data {

struct LoaderOptions {
    int64_t batch_size = 32;
    int workers = 2;            // 0: batches are built by next() itself
    int prefetch = 4;           // batches built ahead of the consumer (>= 1)
    bool drop_last = false;     // drop a last, smaller batch
    uint64_t seed = 1;          // sampler and augmentation
    SamplerKind sampler = SamplerKind::shuffle;
    std::vector<double> weights;   // weighted: one per subset sample; empty: inverse class frequency
    int64_t samples_per_epoch = 0; // weighted, balanced: draws per epoch; 0: the subset's size
    bool augment = false;
    AugmentPolicy augmentation;    // used when augment is set
    std::vector<float> mean, std;  // per-channel normalisation; empty: none
    bool pin_memory = false;       // batches in pinned host memory, for non-blocking copies to a GPU
};

struct Batch {
    Tensor images;                // [N, C, H, W] float32
    Tensor labels;                // [N] int64
    std::vector<size_t> indices;  // dataset index of each image
    int64_t number = 0;           // batch number within the epoch
};

class DataLoader {
public:
    // `subset`: dataset indices (e.g. Split::train); empty means every sample.
    DataLoader(const ImageDataset& dataset, std::vector<size_t> subset, LoaderOptions options);
    ~DataLoader();
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;

    // Starts (or restarts) an epoch: its order, and the workers on it.
    void start_epoch(int64_t epoch);
    // The next batch in order; false when the epoch is over. Rethrows a
    // worker's kiln::Error (e.g. an image that went bad on disk) for that batch.
    bool next(Batch& batch);

    int64_t batches_per_epoch() const;
    size_t samples_per_epoch() const;
    const ImageDataset& dataset() const { return dataset_; }
    const LoaderOptions& options() const { return options_; }

    // Batch `number` of `epoch`, built in the calling thread (what the workers run).
    Batch build_batch(int64_t epoch, int64_t number) const;

private:
    std::vector<size_t> epoch_order(int64_t epoch) const;
    void stop_workers();
    void worker_loop();

    const ImageDataset& dataset_;
    std::vector<size_t> subset_;
    std::vector<int64_t> subset_labels_;
    LoaderOptions options_;

    // Epoch state: written by start_epoch while no worker runs.
    int64_t epoch_ = -1;
    std::vector<size_t> order_;  // dataset indices of this epoch, in order
    int64_t batch_count_ = 0;

    std::mutex mutex_;
    std::condition_variable changed_;
    int64_t next_to_build_ = 0, next_to_hand_out_ = 0;
    std::map<int64_t, Batch> ready_;
    std::map<int64_t, std::exception_ptr> errors_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace kiln::data
