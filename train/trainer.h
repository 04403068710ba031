#pragma once
// The training loop of `kiln train`: data, model, optimizer, schedule, loss,
// per-epoch metrics on train and val, JSON-lines log, best/last checkpoints,
// early stopping with restore-best, NaN/Inf stop, Ctrl-C, resume, and at the
// end the threshold tuned on val, the test metrics and the report.
//
// Outputs in RUN_DIR (config.out):
//   config.json        the full config (repeat the run with --config)
//   split.json         the stratified split (data/split.h)
//   log.jsonl          one JSON object per epoch (and a final "test" record)
//   last.safetensors   after every epoch (and on Ctrl-C): resume from here
//   best.safetensors   the best epoch by the monitored metric
//   model.safetensors  the deployable model: best weights, tuned threshold
//   metrics.json       test metrics at the tuned threshold
//   report.html        the report (train/report.h)
#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/config.h"
#include "train/metrics.h"

namespace kiln::train {

struct TrainResult {
    int64_t epochs_done = 0;      // completed epochs in all (with those before a resume)
    int64_t best_epoch = -1;      // 0-based
    bool interrupted = false;     // Ctrl-C or stop_after: last.safetensors holds the position
    std::string stop_reason;      // "epochs", "early stopping", "target accuracy", "interrupted"
    Metrics val, test;            // of the restored (best) model at the tuned threshold
    double seconds = 0;
    int64_t batch_size = 0;       // images per step (the finder's choice with --batch-size auto)
    int64_t accumulate = 1;       // micro-batches per optimizer step
};

// Runs `config` into config.out; kiln::Error for bad settings or data.
TrainResult train(const TrainConfig& config);
// Continues the run in `run_dir` from its last.safetensors (the saved config;
// `stop_after` of this invocation only).
TrainResult resume(const std::string& run_dir, int64_t stop_after = 0);

// Ctrl-C: the first SIGINT asks the loop to save and leave after the current
// step; a second one kills the process as usual.
void install_interrupt_handler();
void request_interrupt();
bool interrupt_requested();
void clear_interrupt();

// The largest power-of-two batch (<= 256) for which one training step of
// `config`'s model at its input size runs (seed 000's finder). On cpu and
// emu memory is host memory: the finder caps at 256 and the step's
// allocation failure is what stops it.
int64_t find_batch_size(const TrainConfig& config, int64_t num_classes, int channels);

}  // namespace kiln::train
