#pragma once
// The HTML report of a run: one self-contained file (inline SVG charts,
// Grad-CAM overlays as data: URIs, no scripts, no external files).
//
// Sections: summary (stop reason, best epoch, test accuracy / macro-F1 /
// AUC, threshold with its FNR and FPR), loss curves (train and val), metric
// curves (val accuracy, macro-F1, FNR), learning-rate curve, confusion matrix
// and per-class table (test set, or val without a test split), ROC curve of
// the defect score, Grad-CAM overlays of a few correct and a few wrong test
// images, and the full config.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "layers/module.h"
#include "train/metrics.h"

namespace kiln::train {

struct ReportInput {
    std::string title;
    nlohmann::json config;
    nlohmann::json history = nlohmann::json::array();  // log.jsonl's epoch records
    nlohmann::json final_record;                       // log.jsonl's final record (may be null)
    std::vector<std::string> class_names;
    int64_t good_class = -1;
    Scores val_scores, test_scores;
    std::optional<double> threshold;
    // For the Grad-CAM overlays (optional: model null skips them).
    Module* model = nullptr;
    const data::ImageDataset* dataset = nullptr;
    std::vector<size_t> test_indices;                   // dataset index of each test score
    std::vector<float> mean, std;
    Device device = Device::cpu();
    int overlays_each = 4;                              // correct ones and wrong ones
};

// Writes the report atomically (temporary file, then rename).
void write_report(const std::string& path, const ReportInput& input);

// "data:image/png;base64,..." of an image ([0, 1] floats).
std::string png_data_uri(const data::Image& image);

}  // namespace kiln::train
