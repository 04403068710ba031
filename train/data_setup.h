#pragma once
// Opening a run's data: the dataset at the run's size and colour (optionally
// relabelled good vs any defect), its stratified split (saved beside the run
// as split.json and reused), and the normalisation of the training images.
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/split.h"
#include "engine/tensor.h"
#include "layers/module.h"
#include "train/metrics.h"

namespace kiln::train {

struct DataSpec {
    std::string data;
    int size = 64;
    bool grayscale = false;
    bool binary = false;
    int64_t limit_per_class = 0;
};

// Opens `spec.data`; errors name the folder or spec.
data::ImageDataset open_run_dataset(const DataSpec& spec);

// Softmax outputs of `model` (eval mode, no grad) over the subset, in order,
// batches of `batch_size` moved to `device`; the mean loss of `criterion`
// when given.
struct LossFn {
    virtual ~LossFn() = default;
    virtual Tensor operator()(const Tensor& logits, const Tensor& labels) const = 0;
};
Scores predict(Module& model, const data::ImageDataset& dataset, const std::vector<size_t>& subset,
               const std::vector<float>& mean, const std::vector<float>& std, int64_t batch_size, Device device,
               const LossFn* criterion = nullptr, double* mean_loss = nullptr);

// Normalised [1, C, H, W] input of one image (already at the model's size and channels).
Tensor image_input(const data::Image& image, const std::vector<float>& mean, const std::vector<float>& std);

}  // namespace kiln::train
