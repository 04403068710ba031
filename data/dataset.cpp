#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/parallel.h"
#include "data/synth.h"

namespace kiln::data {

namespace fs = std::filesystem;

// A decoded, resized image kept in memory: 8 bits per value, or float for
// 16-bit sources (so their extra precision is not rounded away).
struct ImageDataset::CacheEntry {
    ImageU8 u8;
    Image f32;
    bool present() const { return !u8.empty() || !f32.empty(); }
};

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool hidden(const fs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

// Entries of a folder, sorted by name (byte order, so the class order is the same on every system).
std::vector<fs::path> sorted_entries(const fs::path& folder, bool directories) {
    std::vector<fs::path> out;
    std::error_code error;
    fs::directory_iterator it(folder, error);
    KILN_CHECK(!error, "dataset: ", folder.string(), ": cannot list (", error.message(), ")");
    for (; it != fs::directory_iterator(); it.increment(error)) {
        if (hidden(it->path())) continue;
        // The error_code form: a symlink loop or a dangling link is not a
        // folder (and, listed as a file, is skipped with "cannot open").
        std::error_code status_error;
        const bool is_directory = it->is_directory(status_error);
        if (directories ? is_directory : !is_directory) out.push_back(it->path());
    }
    KILN_CHECK(!error, "dataset: ", folder.string(), ": listing failed (", error.message(), ")");
    std::sort(out.begin(), out.end());
    return out;
}

void check_folder(const std::string& what, const fs::path& folder) {
    std::error_code error;
    KILN_CHECK(fs::exists(folder, error), what, ": ", folder.string(), ": no such folder");
    KILN_CHECK(fs::is_directory(folder, error), what, ": ", folder.string(), ": not a folder");
}

std::string relative_id(const fs::path& file, const fs::path& root) {
    return fs::path(file).lexically_relative(root).generic_string();
}

// The mask of `image` in a masks tree: same relative folder, same stem, .png
// (or <stem>_mask.png, MVTec's naming).
std::string find_mask(const fs::path& mask_root, const std::string& relative_image) {
    const fs::path rel(relative_image);
    for (const std::string& suffix : {std::string(".png"), std::string("_mask.png")}) {
        const fs::path candidate = mask_root / rel.parent_path() / (rel.stem().string() + suffix);
        std::error_code error;
        if (fs::is_regular_file(candidate, error)) return candidate.string();
    }
    return "";
}

fs::path mask_root_for(const std::string& root, const DatasetOptions& options) {
    if (options.mask_root == "none") return {};
    if (!options.mask_root.empty()) {
        check_folder("masks", options.mask_root);
        return options.mask_root;
    }
    fs::path sibling = fs::path(root).lexically_normal();
    if (sibling.filename().empty()) sibling = sibling.parent_path();  // "dir/" -> "dir"
    sibling += "-masks";
    std::error_code error;
    return fs::is_directory(sibling, error) ? sibling : fs::path();
}

}  // namespace

BadImagePolicy parse_bad_image_policy(const std::string& name) {
    if (name == "skip") return BadImagePolicy::skip;
    if (name == "fail") return BadImagePolicy::fail;
    fail("on-bad-image: \"", name, "\" is not one of skip, fail");
}

bool is_good_class_name(const std::string& name) {
    static const std::set<std::string> good = {"good", "ok", "normal", "free", "pass", "no_defect", "non_defective",
                                               "nodefect", "none"};
    return good.count(lower(name)) > 0;
}

// ---- builders ---------------------------------------------------------------------------------

ImageDataset ImageDataset::image_folder(const std::string& root, const DatasetOptions& options) {
    check_folder("image folder", root);
    ImageDataset d;
    d.root_ = root, d.options_ = options;
    const fs::path masks = mask_root_for(root, options);
    size_t loose_images = 0;
    for (const fs::path& file : sorted_entries(root, false)) loose_images += is_image_file_name(file.string());
    const std::vector<fs::path> classes = sorted_entries(root, true);
    KILN_CHECK(!classes.empty(), "image folder: ", root, ": no class subfolders (expected ", root,
               "/<class>/<images>", loose_images ? kiln::str("; found ", loose_images, " images directly in it") : "",
               ")");
    for (const fs::path& folder : classes) {
        const int64_t label = int64_t(d.class_names_.size());
        d.class_names_.push_back(folder.filename().string());
        size_t found = 0;
        for (const fs::path& file : sorted_entries(folder, false)) {
            if (!is_image_file_name(file.string())) {
                ++d.report_.ignored_files;
                continue;
            }
            if (options.limit_per_class > 0 && found >= size_t(options.limit_per_class)) break;
            Sample s;
            s.path = file.string();
            s.id = relative_id(file, root);
            s.label = label;
            if (!masks.empty()) s.mask_path = find_mask(masks, s.id);
            d.samples_.push_back(std::move(s));
            ++found;
        }
        KILN_CHECK(found > 0, "image folder: ", folder.string(), ": class folder has no PNG/JPEG/BMP images");
    }
    d.finish_open();
    return d;
}

ImageDataset ImageDataset::mvtec(const std::string& root, const MvtecOptions& mvtec, const DatasetOptions& options) {
    check_folder("mvtec", root);
    KILN_CHECK(mvtec.subset == "train" || mvtec.subset == "test" || mvtec.subset == "all", "mvtec: subset \"",
               mvtec.subset, "\" is not one of train, test, all");
    const fs::path base(root);
    check_folder("mvtec", base / "train" / "good");
    ImageDataset d;
    d.root_ = root, d.options_ = options;
    // Defect types: the folders of test/ other than good.
    std::vector<std::string> defects;
    std::error_code error;
    if (fs::is_directory(base / "test", error))
        for (const fs::path& folder : sorted_entries(base / "test", true))
            if (folder.filename() != "good") defects.push_back(folder.filename().string());
    d.class_names_ = {"good"};
    if (mvtec.per_defect) d.class_names_.insert(d.class_names_.end(), defects.begin(), defects.end());
    else d.class_names_.push_back("defect");

    auto add_folder = [&](const fs::path& folder, int64_t label, const std::string& defect) {
        if (!fs::is_directory(folder, error)) return;
        for (const fs::path& file : sorted_entries(folder, false)) {
            if (!is_image_file_name(file.string())) {
                ++d.report_.ignored_files;
                continue;
            }
            Sample s;
            s.path = file.string();
            s.id = relative_id(file, base);
            s.label = label;
            if (!defect.empty()) {
                const fs::path mask = base / "ground_truth" / defect / (file.stem().string() + "_mask.png");
                if (fs::is_regular_file(mask, error)) s.mask_path = mask.string();
            }
            d.samples_.push_back(std::move(s));
        }
    };
    if (mvtec.subset != "test") add_folder(base / "train" / "good", 0, "");
    if (mvtec.subset != "train") {
        add_folder(base / "test" / "good", 0, "");
        for (size_t i = 0; i < defects.size(); ++i)
            add_folder(base / "test" / defects[i], mvtec.per_defect ? int64_t(i + 1) : 1, defects[i]);
    }
    KILN_CHECK(!d.samples_.empty(), "mvtec: ", root, ": no images found");
    d.finish_open();
    return d;
}

namespace {

// One CSV line: comma-separated, fields optionally in double quotes ("" is a quote).
std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
            else if (c == '"') quoted = false;
            else fields.back() += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else if (c != '\r') {
            fields.back() += c;
        }
    }
    for (std::string& f : fields) {  // trim spaces
        const size_t a = f.find_first_not_of(" \t"), b = f.find_last_not_of(" \t");
        f = a == std::string::npos ? "" : f.substr(a, b - a + 1);
    }
    return fields;
}

constexpr int64_t max_csv_classes = 100000;

bool is_non_negative_integer(const std::string& s) {
    return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

ImageDataset ImageDataset::csv(const std::string& csv_path, const DatasetOptions& options) {
    std::ifstream in(csv_path);
    KILN_CHECK(in, "csv: ", csv_path, ": cannot open");
    const fs::path folder = fs::path(csv_path).parent_path();
    ImageDataset d;
    d.root_ = csv_path, d.options_ = options;  // ids are relative to the CSV's folder
    std::vector<std::pair<std::string, std::string>> rows;  // path, label
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
        const std::vector<std::string> f = split_csv_line(line);
        KILN_CHECK(f.size() >= 2 && !f[0].empty() && !f[1].empty(), "csv: ", csv_path, ":", line_number,
                   ": expected \"path,label\", got \"", line, "\"");
        if (rows.empty() && line_number == 1 && lower(f[0]) == "path" && lower(f[1]) == "label") continue;  // header
        rows.emplace_back(f[0], f[1]);
    }
    KILN_CHECK(!rows.empty(), "csv: ", csv_path, ": no rows");
    // Labels: all integers -> class i is "i" (0..max); else names, sorted.
    const bool numeric = std::all_of(rows.begin(), rows.end(), [](const auto& r) { return is_non_negative_integer(r.second); });
    std::map<std::string, int64_t> index;
    if (numeric) {
        int64_t top = 0;
        for (const auto& r : rows) top = std::max<int64_t>(top, std::stoll(r.second));
        // Numeric labels are class indices 0..top: a stray large number would
        // otherwise make that many (empty) classes.
        KILN_CHECK(top < max_csv_classes, "csv: ", csv_path, ": label ", top, " means ", top + 1,
                   " classes (numeric labels are class indices 0..N-1); at most ", max_csv_classes);
        for (int64_t i = 0; i <= top; ++i) d.class_names_.push_back(std::to_string(i));
    } else {
        std::set<std::string> names;
        for (const auto& r : rows) names.insert(r.second);
        d.class_names_.assign(names.begin(), names.end());
        for (size_t i = 0; i < d.class_names_.size(); ++i) index[d.class_names_[i]] = int64_t(i);
    }
    // Masks only from a folder named in the options (a CSV has no root to look beside).
    fs::path masks;
    if (!options.mask_root.empty()) masks = mask_root_for(folder.string(), options);
    for (const auto& [path, label] : rows) {
        Sample s;
        const fs::path p(path);
        s.path = (p.is_absolute() ? p : folder / p).string();
        s.id = p.generic_string();
        s.label = numeric ? std::stoll(label) : index.at(label);
        if (!masks.empty()) s.mask_path = find_mask(masks, s.id);
        d.samples_.push_back(std::move(s));
    }
    d.finish_open();
    return d;
}

ImageDataset ImageDataset::in_memory(std::vector<std::string> class_names, const std::vector<Image>& images,
                                     const std::vector<int64_t>& labels, const DatasetOptions& options,
                                     const std::vector<Image>& masks, const std::string& name) {
    KILN_CHECK(images.size() == labels.size(), "dataset: ", images.size(), " images but ", labels.size(), " labels");
    KILN_CHECK(masks.empty() || masks.size() == images.size(), "dataset: ", masks.size(), " masks for ", images.size(),
               " images");
    ImageDataset d;
    d.root_ = name, d.options_ = options;
    d.class_names_ = std::move(class_names);
    d.cache_ = std::make_shared<std::vector<CacheEntry>>(images.size());
    if (!masks.empty()) d.memory_masks_ = std::make_shared<std::vector<Image>>(masks.size());
    const int channels = d.channels();
    for (size_t i = 0; i < images.size(); ++i) {
        KILN_CHECK(labels[i] >= 0 && labels[i] < d.num_classes(), "dataset: image ", i, " has label ", labels[i],
                   ", outside the ", d.num_classes(), " classes");
        Sample s;
        s.id = kiln::str(name, "/", d.class_names_[static_cast<size_t>(labels[i])], "/", i);
        s.label = labels[i];
        d.samples_.push_back(std::move(s));
    }
    parallel_for(images.size(), options.threads, [&](size_t i) {
        (*d.cache_)[i].f32 = resize_to_fit(with_channels(images[i], channels), options.height, options.width, options.fit);
        if (!masks.empty()) (*d.memory_masks_)[i] = masks[i];
    });
    d.report_.listed = d.report_.cached = images.size();
    return d;
}

ImageDataset ImageDataset::open(const std::string& spec, const DatasetOptions& options, bool per_defect) {
    if (spec.rfind("synth:", 0) == 0) {
        // synth:KIND[:key=value,...]
        std::string rest = spec.substr(6);
        const size_t colon = rest.find(':');
        SynthOptions synth;
        synth.kind = parse_synth_kind(rest.substr(0, colon));
        synth.size = std::max(options.height, options.width);
        synth.threads = options.threads;
        if (colon != std::string::npos) {
            std::stringstream items(rest.substr(colon + 1));
            std::string item;
            while (std::getline(items, item, ',')) {
                const size_t eq = item.find('=');
                KILN_CHECK(eq != std::string::npos, "dataset: \"", item, "\" in \"", spec, "\" is not key=value");
                const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
                try {
                    if (key == "count") synth.count = std::stoll(value);
                    else if (key == "seed") synth.seed = std::stoull(value);
                    else if (key == "defect_ratio") synth.defect_ratio = std::stod(value);
                    else if (key == "size") synth.size = std::stoi(value);
                    else fail("dataset: unknown synth setting \"", key, "\" (count, seed, defect_ratio, size)");
                } catch (const std::logic_error&) {
                    fail("dataset: \"", value, "\" is not a number (", key, " in \"", spec, "\")");
                }
            }
        }
        SynthSet set = generate_synth(synth);
        std::vector<Image> images, masks;
        std::vector<int64_t> labels;
        for (SynthSample& s : set.samples) {
            images.push_back(std::move(s.image));
            masks.push_back(std::move(s.mask));
            labels.push_back(s.label);
        }
        return in_memory(set.class_names, images, labels, options, masks, spec);
    }
    std::error_code error;
    if (lower(fs::path(spec).extension().string()) == ".csv" && fs::is_regular_file(spec, error))
        return csv(spec, options);
    check_folder("dataset", spec);
    if (fs::is_directory(fs::path(spec) / "train" / "good", error)) {
        MvtecOptions m;
        m.per_defect = per_defect;
        return mvtec(spec, m, options);
    }
    return image_folder(spec, options);
}

// ---- decode, verify, cache --------------------------------------------------------------------

Image ImageDataset::decode_and_resize(const std::string& path) const {
    const ColorMode mode = options_.color == ColorMode::gray ? ColorMode::gray : ColorMode::rgb;
    return resize_to_fit(read_image(path, mode), options_.height, options_.width, options_.fit);
}

void ImageDataset::finish_open() {
    KILN_CHECK(options_.height > 0 && options_.width > 0 && options_.height <= 8192 && options_.width <= 8192,
               "dataset: input size ", options_.height, "x", options_.width, " is outside 1..8192");
    report_.listed = samples_.size();
    const bool decode_all = options_.verify || options_.cache;
    if (!decode_all) return;
    const size_t n = samples_.size();
    cache_ = std::make_shared<std::vector<CacheEntry>>(n);
    std::vector<std::string> errors(n);
    // Decode on several threads; cache while the budget lasts (entries are
    // claimed in index order by an atomic counter, so which images are cached
    // depends only on the sizes, never on thread timing).
    const size_t per_image = static_cast<size_t>(channels()) * static_cast<size_t>(options_.height) *
                             static_cast<size_t>(options_.width);
    const size_t cacheable = options_.cache ? std::min(n, options_.cache_limit_bytes / std::max<size_t>(per_image, 1)) : 0;
    parallel_for(n, options_.threads, [&](size_t i) {
        try {
            ImageInfo info;
            const ColorMode mode = options_.color == ColorMode::gray ? ColorMode::gray : ColorMode::rgb;
            Image image = resize_to_fit(read_image(samples_[i].path, mode, &info), options_.height, options_.width,
                                        options_.fit);
            if (i < cacheable) {
                if (info.bit_depth > 8) (*cache_)[i].f32 = std::move(image);
                else (*cache_)[i].u8 = to_u8(image);
            }
        } catch (const Error& e) {
            const std::string what = e.what(), prefix = "kiln::Error: ";
            errors[i] = what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;  // "image: <file>: <reason>"
        }
    });
    std::vector<size_t> bad;
    for (size_t i = 0; i < n; ++i)
        if (!errors[i].empty()) bad.push_back(i);
    if (!bad.empty() && options_.on_bad_image == BadImagePolicy::fail) {
        fail("dataset: ", root_, ": ", bad.size(), " of ", n, " images cannot be decoded (on_bad_image = fail); first: ",
             errors[bad[0]]);
    }
    if (!bad.empty()) {
        std::vector<Sample> kept;
        std::vector<CacheEntry> kept_cache;
        size_t b = 0;
        for (size_t i = 0; i < n; ++i) {
            if (b < bad.size() && bad[b] == i) {
                report_.skipped.push_back(errors[i]);
                if (!options_.quiet) std::fprintf(stderr, "kiln: warning: skipped %s\n", errors[i].c_str());
                ++b;
                continue;
            }
            kept.push_back(std::move(samples_[i]));
            kept_cache.push_back(std::move((*cache_)[i]));
        }
        samples_ = std::move(kept);
        *cache_ = std::move(kept_cache);
        if (!options_.quiet)
            std::fprintf(stderr, "kiln: warning: %s: skipped %zu of %zu images that could not be decoded\n",
                         root_.c_str(), bad.size(), n);
        for (int64_t c = 0; c < num_classes(); ++c)
            KILN_CHECK(std::any_of(samples_.begin(), samples_.end(), [&](const Sample& s) { return s.label == c; }),
                       "dataset: ", root_, ": class \"", class_names_[static_cast<size_t>(c)],
                       "\" has no decodable images left");
    }
    for (const CacheEntry& e : *cache_) report_.cached += e.present();
    if (!options_.cache) cache_.reset();
}

Image ImageDataset::load(size_t i) const {
    KILN_CHECK(i < samples_.size(), "dataset: sample ", i, " outside [0, ", samples_.size(), ")");
    if (cache_) {
        const CacheEntry& e = (*cache_)[i];
        if (!e.f32.empty()) return e.f32;
        if (!e.u8.empty()) return to_float(e.u8);
    }
    return decode_and_resize(samples_[i].path);
}

Image ImageDataset::load_mask(size_t i) const {
    KILN_CHECK(i < samples_.size(), "dataset: sample ", i, " outside [0, ", samples_.size(), ")");
    Image mask;
    if (memory_masks_) mask = (*memory_masks_)[i];
    else if (!samples_[i].mask_path.empty()) mask = read_image(samples_[i].mask_path, ColorMode::gray);
    else return Image(options_.height, options_.width, 1);
    mask = resize_to_fit(to_gray(mask), options_.height, options_.width, options_.fit);
    for (float& v : mask.pixels) v = v >= 0.5f ? 1.0f : 0.0f;
    return mask;
}

std::vector<int64_t> ImageDataset::labels() const {
    std::vector<int64_t> out;
    out.reserve(samples_.size());
    for (const Sample& s : samples_) out.push_back(s.label);
    return out;
}

std::vector<int64_t> ImageDataset::class_counts() const {
    std::vector<int64_t> counts(class_names_.size(), 0);
    for (const Sample& s : samples_) counts[static_cast<size_t>(s.label)]++;
    return counts;
}

ChannelStats channel_stats(const ImageDataset& dataset, const std::vector<size_t>& indices) {
    KILN_CHECK(!indices.empty(), "channel_stats: no images");
    const size_t c = static_cast<size_t>(dataset.channels());
    std::vector<double> sum(c, 0), square(c, 0);
    double count = 0;
    for (size_t index : indices) {
        const Image image = dataset.load(index);
        for (size_t i = 0; i < image.pixels.size(); ++i) {
            sum[i % c] += image.pixels[i];
            square[i % c] += double(image.pixels[i]) * image.pixels[i];
        }
        count += double(image.height) * image.width;
    }
    ChannelStats stats;
    for (size_t k = 0; k < c; ++k) {
        const double mean = sum[k] / count;
        stats.mean.push_back(float(mean));
        stats.std.push_back(float(std::sqrt(std::max(square[k] / count - mean * mean, 1e-12))));
    }
    return stats;
}

}  // namespace kiln::data
