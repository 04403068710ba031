#include "train/data_setup.h"

#include <filesystem>

#include "data/loader.h"
#include "engine/autograd.h"
#include "engine/ops.h"

namespace kiln::train {

data::ImageDataset open_run_dataset(const DataSpec& spec) {
    const bool synthetic = spec.data.rfind("synth:", 0) == 0;
    KILN_CHECK(synthetic || std::filesystem::exists(spec.data), "data: ", spec.data,
               ": no such folder or file (give an image folder, an MVTec-AD category, a CSV list, or synth:bottle)");
    data::DatasetOptions options;
    options.color = spec.grayscale ? data::ColorMode::gray : data::ColorMode::rgb;
    options.height = options.width = spec.size;
    options.limit_per_class = spec.limit_per_class;
    data::ImageDataset dataset = data::ImageDataset::open(spec.data, options);
    if (!spec.binary) return dataset;
    // good vs any defect: rebuilt in memory with two labels.
    const int64_t good = good_class_index(dataset.class_names());
    KILN_CHECK(good >= 0, "--binary: ", spec.data, " has no good class (a folder named good, ok, normal, free, ...)");
    if (dataset.num_classes() == 2 && good == 0) return dataset;
    std::vector<data::Image> images;
    std::vector<int64_t> labels;
    for (size_t i = 0; i < dataset.size(); ++i) {
        images.push_back(dataset.load(i));
        labels.push_back(dataset.sample(i).label == good ? 0 : 1);
    }
    return data::ImageDataset::in_memory({dataset.class_names()[size_t(good)], "defect"}, images, labels, options, {},
                                         spec.data);
}

Scores predict(Module& model, const data::ImageDataset& dataset, const std::vector<size_t>& subset,
               const std::vector<float>& mean, const std::vector<float>& std, int64_t batch_size, Device device,
               const LossFn* criterion, double* mean_loss) {
    data::LoaderOptions options;
    options.batch_size = batch_size;
    options.sampler = data::SamplerKind::sequential;
    options.mean = mean;
    options.std = std;
    options.pin_memory = device.kind == Device::Kind::cuda;  // non-blocking copies to the GPU (data/loader.h)
    data::DataLoader loader(dataset, subset, options);
    loader.start_epoch(0);
    model.eval();
    NoGradGuard no_grad;
    Scores scores;
    scores.num_classes = dataset.num_classes();
    double loss_sum = 0;
    data::Batch batch;
    while (loader.next(batch)) {
        const Tensor logits = model(batch.images.to(device, options.pin_memory));
        if (criterion)
            loss_sum += (*criterion)(logits, batch.labels.to(device, options.pin_memory)).item() * double(batch.indices.size());
        for (double p : softmax(logits, 1).to(Device::cpu()).to_vector()) scores.probs.push_back(float(p));
        for (double l : batch.labels.to_vector()) scores.labels.push_back(int64_t(l));
    }
    if (mean_loss) *mean_loss = scores.size() ? loss_sum / double(scores.size()) : 0.0;
    return scores;
}

Tensor image_input(const data::Image& image, const std::vector<float>& mean, const std::vector<float>& std) {
    return data::to_tensor(image, mean, std).unsqueeze(0);
}

}  // namespace kiln::train
