#pragma once
// Image datasets: a list of samples (file, label, optional mask) with class
// names, decoded to float images of one chosen size and channel count.
//
//   image folder:  root/<class>/*.png|jpg|jpeg|bmp; classes sorted by name
//   MVTec-AD:      root/train/good, root/test/<defect>, root/ground_truth/<defect>/<stem>_mask.png
//   CSV list:      path,label lines; paths relative to the CSV's folder
//   in memory:     images already decoded (the synthetic generator's)
//
// Opening a dataset lists its files and (by default) decodes each once, on
// several threads: a file that fails is reported by name and either skipped
// (a warning each, and a count at the end) or the open stops with a
// kiln::Error, as DatasetOptions::on_bad_image says. The decoded, resized
// images are kept in memory (8 bits per value) while they fit in
// cache_limit_bytes, so an epoch of a small dataset decodes nothing.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_io.h"
#include "data/resize.h"

namespace kiln::data {

enum class BadImagePolicy { skip, fail };
BadImagePolicy parse_bad_image_policy(const std::string& name);  // "skip" or "fail"

struct DatasetOptions {
    ColorMode color = ColorMode::rgb;   // gray: 1 channel, rgb: 3 (keep is treated as rgb)
    int height = 128, width = 128;      // every image is brought to this size
    Fit fit = Fit::stretch;             // how another aspect ratio gets there
    BadImagePolicy on_bad_image = BadImagePolicy::skip;
    bool verify = true;                 // decode every file at open (always when caching)
    bool cache = true;                  // keep decoded, resized images in memory
    size_t cache_limit_bytes = size_t(2) << 30;  // beyond this, images are decoded on each use
    int threads = 0;                    // decode threads at open; 0: the machine's core count
    bool quiet = false;                 // no warnings on stderr (they are still in the report)
    int64_t limit_per_class = 0;        // > 0: only the first N files of each class (sorted order), for quick looks
    // Masks (image folder): "" looks for a sibling folder "<root>-masks" with
    // the same class folders and file stems (.png), "none" disables them.
    std::string mask_root;
};

// MVTec-AD: which images, and which labels.
struct MvtecOptions {
    std::string subset = "all";   // train, test or all (train/good + test/*, to re-split stratified)
    bool per_defect = false;      // false: classes good, defect; true: good then each defect type (sorted)
};

struct Sample {
    std::string id;          // path relative to the dataset root (the split file's key)
    std::string path;        // full path ("" for in-memory samples)
    int64_t label = 0;
    std::string mask_path;   // "" when the sample has no mask file
};

// What opening a dataset found.
struct OpenReport {
    size_t listed = 0;                  // image files found
    std::vector<std::string> skipped;   // error message of each file skipped
    size_t ignored_files = 0;           // files without an image extension
    size_t cached = 0;                  // images held in memory
};

class ImageDataset {
public:
    // Builders (each lists, then verifies and caches as the options say).
    static ImageDataset image_folder(const std::string& root, const DatasetOptions& options = {});
    static ImageDataset mvtec(const std::string& root, const MvtecOptions& mvtec = {}, const DatasetOptions& options = {});
    static ImageDataset csv(const std::string& csv_path, const DatasetOptions& options = {});
    // Decoded images (converted to the options' channels and size); masks may be empty or one per image.
    static ImageDataset in_memory(std::vector<std::string> class_names, const std::vector<Image>& images,
                                  const std::vector<int64_t>& labels, const DatasetOptions& options = {},
                                  const std::vector<Image>& masks = {}, const std::string& name = "memory");
    // By the look of `spec`: "synth:bottle", "synth:casting[:count=N,seed=S,defect_ratio=R]", a .csv
    // file, a folder with train/good (MVTec-AD; per defect type when per_defect), or an image folder.
    static ImageDataset open(const std::string& spec, const DatasetOptions& options = {}, bool per_defect = false);

    size_t size() const { return samples_.size(); }
    const Sample& sample(size_t i) const { return samples_.at(i); }
    const std::vector<Sample>& samples() const { return samples_; }
    std::vector<int64_t> labels() const;
    const std::vector<std::string>& class_names() const { return class_names_; }
    int64_t num_classes() const { return int64_t(class_names_.size()); }
    std::vector<int64_t> class_counts() const;
    int channels() const { return options_.color == ColorMode::gray ? 1 : 3; }
    int height() const { return options_.height; }
    int width() const { return options_.width; }
    const DatasetOptions& options() const { return options_; }
    const std::string& root() const { return root_; }
    const OpenReport& report() const { return report_; }

    // Sample i, decoded and resized: channels() x height() x width(), values in [0, 1].
    // Thread-safe (the cache is read-only after open).
    Image load(size_t i) const;
    // Its mask, 1 channel, values 0 or 1 (resized bilinear, then thresholded at 0.5);
    // all zero when the sample has none.
    Image load_mask(size_t i) const;

private:
    struct CacheEntry;
    void finish_open();  // verify / cache / skip, then fill report_
    Image decode_and_resize(const std::string& path) const;

    std::string root_;
    DatasetOptions options_;
    std::vector<std::string> class_names_;
    std::vector<Sample> samples_;
    std::shared_ptr<std::vector<CacheEntry>> cache_;  // one per sample, empty entries when not cached
    std::shared_ptr<std::vector<Image>> memory_masks_;
    OpenReport report_;
};

// "good", "ok", "normal", "free", "pass", "no_defect", "non_defective" (any case):
// the class of parts without a defect.
bool is_good_class_name(const std::string& name);

// Per-channel mean and standard deviation over every pixel of the given
// samples (un-augmented), for normalisation.
struct ChannelStats {
    std::vector<float> mean, std;
};
ChannelStats channel_stats(const ImageDataset& dataset, const std::vector<size_t>& indices);

}  // namespace kiln::data
