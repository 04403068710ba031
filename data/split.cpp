#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "data/dataset.h"
#include "data/sample_rng.h"
#include "engine/file.h"
#include "engine/utf8.h"

namespace kiln::data {

namespace {
constexpr uint64_t split_stream_tag = 0x73706c6974ull;  // "split"
}

SplitRatios parse_split_ratios(const std::string& text) {
    std::vector<double> parts;
    std::string current;
    for (char c : text + ",") {
        if (c == ',' || c == '/' || c == ':') {
            KILN_CHECK(!current.empty(), "split: \"", text, "\" is not three ratios like 0.7,0.15,0.15");
            try {
                size_t used = 0;
                parts.push_back(std::stod(current, &used));
                KILN_CHECK(used == current.size(), "split: \"", current, "\" is not a number");
            } catch (const std::logic_error&) {
                fail("split: \"", current, "\" is not a number (in \"", text, "\")");
            }
            current.clear();
        } else {
            current += c;
        }
    }
    KILN_CHECK(parts.size() == 3, "split: \"", text, "\" has ", parts.size(), " ratios, expected train,val,test");
    const double total = parts[0] + parts[1] + parts[2];
    KILN_CHECK(parts[0] > 0 && parts[1] >= 0 && parts[2] >= 0 && total > 0, "split: ratios \"", text,
               "\" must be >= 0 with train > 0");
    return {parts[0] / total, parts[1] / total, parts[2] / total};
}

Split stratified_split(const std::vector<int64_t>& labels, const std::vector<std::string>& class_names,
                       const SplitRatios& ratios, uint64_t seed) {
    const double r[3] = {ratios.train, ratios.val, ratios.test};
    KILN_CHECK(r[0] > 0 && r[1] >= 0 && r[2] >= 0 && std::fabs(r[0] + r[1] + r[2] - 1) < 1e-6,
               "split: ratios ", r[0], ", ", r[1], ", ", r[2], " must be >= 0, train > 0, and sum to 1");
    const int parts = 1 + (r[1] > 0) + (r[2] > 0);
    std::vector<std::vector<size_t>> by_class(class_names.size());
    for (size_t i = 0; i < labels.size(); ++i) {
        KILN_CHECK(labels[i] >= 0 && size_t(labels[i]) < class_names.size(), "split: sample ", i, " has label ",
                   labels[i], " outside the ", class_names.size(), " classes");
        by_class[static_cast<size_t>(labels[i])].push_back(i);
    }
    Split split;
    split.seed = seed, split.ratios = ratios;
    std::vector<size_t>* out[3] = {&split.train, &split.val, &split.test};
    for (size_t c = 0; c < by_class.size(); ++c) {
        std::vector<size_t>& members = by_class[c];
        const size_t n = members.size();
        KILN_CHECK(n >= size_t(parts), "split: class \"", class_names[c], "\" has ", n, " image", n == 1 ? "" : "s",
                   ", too few for ", parts, " splits (every split must hold every class); add images or set the ",
                   "empty splits' ratio to 0");
        // Fisher-Yates with the class's own stream: one class's order does not depend on the others.
        SampleRng rng(stream_key(seed, split_stream_tag, 0), c);
        for (size_t i = n - 1; i > 0; --i) std::swap(members[i], members[rng.below(uint32_t(i + 1))]);
        // Largest remainder: floor(n r_k), then the leftover to the largest fractions (ties: earlier split).
        size_t count[3];
        double fraction[3];
        size_t given = 0;
        for (int k = 0; k < 3; ++k) {
            const double exact = double(n) * r[k];
            count[k] = size_t(std::floor(exact));
            fraction[k] = exact - double(count[k]);
            given += count[k];
        }
        while (given < n) {
            int best = 0;
            for (int k = 1; k < 3; ++k)
                if (fraction[k] > fraction[best]) best = k;
            ++count[best], fraction[best] = -1, ++given;
        }
        // Every split with a ratio gets at least one image, taken from the largest.
        for (int k = 0; k < 3; ++k) {
            if (r[k] > 0 && count[k] == 0) {
                int largest = 0;
                for (int j = 1; j < 3; ++j)
                    if (count[j] > count[largest]) largest = j;
                --count[largest], ++count[k];
            }
        }
        size_t at = 0;
        for (int k = 0; k < 3; ++k) {
            out[k]->insert(out[k]->end(), members.begin() + std::ptrdiff_t(at), members.begin() + std::ptrdiff_t(at + count[k]));
            at += count[k];
        }
    }
    for (std::vector<size_t>* part : out) std::sort(part->begin(), part->end());
    return split;
}

Split stratified_split(const ImageDataset& dataset, const SplitRatios& ratios, uint64_t seed) {
    return stratified_split(dataset.labels(), dataset.class_names(), ratios, seed);
}

namespace {

// A file or class name in the split file: a JSON string when it is UTF-8,
// else {"hex": "<its bytes>"} (a Linux name is bytes; JSON strings are UTF-8).
nlohmann::json name_json(const std::string& name) {
    if (is_valid_utf8(name)) return name;
    static const char digits[] = "0123456789abcdef";
    std::string hex;
    for (const char c : name) hex += {digits[static_cast<unsigned char>(c) >> 4], digits[static_cast<unsigned char>(c) & 15]};
    return {{"hex", hex}};
}

std::string name_from_json(const nlohmann::json& j) {
    if (j.is_string()) return j.get<std::string>();
    const std::string hex = j.at("hex").get<std::string>();
    auto nibble = [&](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        fail("split: \"", hex, "\" is not a name in hex");
    };
    KILN_CHECK(hex.size() % 2 == 0, "split: \"", hex, "\" is not a name in hex");
    std::string name;
    for (size_t i = 0; i < hex.size(); i += 2) name += char(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
    return name;
}

}  // namespace

void save_split(const std::string& path, const Split& split, const ImageDataset& dataset) {
    nlohmann::json j;
    j["format"] = "kiln-split";
    j["version"] = 1;
    j["seed"] = split.seed;
    j["ratios"] = {split.ratios.train, split.ratios.val, split.ratios.test};
    j["classes"] = nlohmann::json::array();
    for (const std::string& name : dataset.class_names()) j["classes"].push_back(name_json(name));
    auto ids = [&](const std::vector<size_t>& part) {
        nlohmann::json list = nlohmann::json::array();
        for (size_t i : part) list.push_back(name_json(dataset.sample(i).id));
        return list;
    };
    j["train"] = ids(split.train);
    j["val"] = ids(split.val);
    j["test"] = ids(split.test);
    // Atomic: a run killed while writing it must find the whole file (or none) when started again.
    write_file_atomically(path, {j.dump(1), "\n"}, "split");
}

Split load_split(const std::string& path, const ImageDataset& dataset, bool quiet) {
    std::ifstream in(path);
    KILN_CHECK(in, "split: ", path, ": cannot open");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail("split: ", path, ": not valid JSON (", e.what(), ")");
    }
    KILN_CHECK(j.is_object() && j.value("format", "") == "kiln-split", "split: ", path, ": not a kiln split file");
    KILN_CHECK(j.value("version", 0) == 1, "split: ", path, ": version ", j.value("version", 0), " (this kiln reads 1)");
    Split split;
    try {
        std::vector<std::string> classes;
        for (const nlohmann::json& name : j.at("classes")) classes.push_back(name_from_json(name));
        KILN_CHECK(classes == dataset.class_names(), "split: ", path, ": its classes differ from the dataset's (",
                   classes.size(), " vs ", dataset.class_names().size(), " classes)");
        split.seed = j.at("seed").get<uint64_t>();
        const auto r = j.at("ratios").get<std::vector<double>>();
        KILN_CHECK(r.size() == 3, "split: ", path, ": \"ratios\" needs 3 numbers");
        split.ratios = {r[0], r[1], r[2]};
        std::map<std::string, size_t> index;
        for (size_t i = 0; i < dataset.size(); ++i) index[dataset.sample(i).id] = i;
        size_t used = 0;
        for (auto [name, part] : {std::pair{"train", &split.train}, {"val", &split.val}, {"test", &split.test}}) {
            for (const nlohmann::json& entry : j.at(name)) {
                const std::string id = name_from_json(entry);
                const auto found = index.find(id);
                KILN_CHECK(found != index.end(), "split: ", path, ": \"", id, "\" (", name,
                           ") is not in the dataset (deleted, renamed or skipped as undecodable?)");
                part->push_back(found->second);
                ++used;
            }
            std::sort(part->begin(), part->end());
        }
        if (used < dataset.size() && !quiet)
            std::fprintf(stderr, "kiln: warning: split %s: %zu of the dataset's %zu images are in no split (added later?)\n",
                         path.c_str(), dataset.size() - used, dataset.size());
    } catch (const nlohmann::json::exception& e) {
        fail("split: ", path, ": ", e.what());
    }
    return split;
}

Split split_or_load(const std::string& path, const ImageDataset& dataset, const SplitRatios& ratios, uint64_t seed) {
    std::error_code error;
    if (!path.empty() && std::filesystem::exists(path, error)) return load_split(path, dataset, dataset.options().quiet);
    Split split = stratified_split(dataset, ratios, seed);
    if (!path.empty()) save_split(path, split, dataset);
    return split;
}

}  // namespace kiln::data
