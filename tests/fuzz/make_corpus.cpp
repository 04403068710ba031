// Writes the seed corpora of tests/fuzz/corpus/ with kiln's own writers (no
// third-party images: see docs/reliability.md). Built in the fuzz tree:
//   build-fuzz/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/train_commands.h"
#include "data/image_io.h"
#include "engine/safetensors.h"
#include "train/config.h"

using namespace kiln;
using namespace kiln::data;

namespace {

Image gradient(int height, int width, int channels) {
    Image image(height, width, channels);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < channels; ++c)
                image.pixels[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) *
                                 static_cast<size_t>(channels) + static_cast<size_t>(c)] =
                    0.5f + 0.5f * std::sin(0.7f * float(x) + 1.3f * float(y) + 2.0f * float(c));
    return image;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// A safetensors file by hand, for the dtypes kiln reads but never writes.
std::string hand_safetensors(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = char((n >> (8 * i)) & 0xff);
    return out + header + data;
}

}  // namespace

int main(int argc, char** argv) {
    const std::filesystem::path root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
    const auto image = root / "image", st = root / "safetensors", csv = root / "csv", config = root / "config";
    for (const auto& d : {image, st, csv, config}) std::filesystem::create_directories(d);

    write_image((image / "rgb_12x9.png").string(), gradient(9, 12, 3));
    write_image((image / "gray_9x7.png").string(), gradient(7, 9, 1));
    write_image((image / "1x1.png").string(), gradient(1, 1, 3));
    write_image((image / "rgb_16x16.jpg").string(), gradient(16, 16, 3));
    write_image((image / "gray_16x8.jpg").string(), gradient(8, 16, 1));
    write_image((image / "rgb_6x5.bmp").string(), gradient(5, 6, 3));
    write_image((image / "gray_5x4.bmp").string(), gradient(4, 5, 1));
    write_png16((image / "rgb16_10x6.png").string(), gradient(6, 10, 3));
    write_png16((image / "gray16_7x5.png").string(), gradient(5, 7, 1));

    write_safetensors((st / "f32_i64_meta.safetensors").string(),
                      {{"conv.weight", Tensor::from_vector({0.5, -1.25, 3, 4, 5, 6}, {2, 3})},
                       {"bn.num_batches_tracked", Tensor::from_int64({7}, {})},
                       {"fc.bias", Tensor::from_vector({1, 2}, {2})}},
                      {{"format", "pt"}, {"kiln", "seed corpus"}});
    write_safetensors((st / "f64_empty_dim.safetensors").string(),
                      {{"a", Tensor::from_vector({1.5, 2.5}, {1, 2}, DType::float64)}, {"empty", Tensor::zeros({0, 3})}});
    write_safetensors((st / "metadata_only.safetensors").string(), {}, {{"epoch", "3"}});
    write_text(st / "f16_bf16_i32.safetensors",
               hand_safetensors(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                                R"("b":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]},)"
                                R"("i":{"dtype":"I32","shape":[1],"data_offsets":[6,10]}})",
                                std::string("\x00\x3c\x00\xc0\x80\x3f\x05\x00\x00\x00", 10)));

    write_text(csv / "header_names.csv", "path,label\ngood/a.png,good\nscratch/b.png,scratch\n\"odd, name.png\",good\n");
    write_text(csv / "numeric.csv", "# comment\n0001.png,0\n0002.png,2\n/abs/path.jpg,1\r\n\n");
    write_text(csv / "quoted.csv", "\"a\"\"b.png\" , \"defect\" , extra\nc.bmp,good\n");
    // kiln train configs: a run's config.json as the trainer writes it, the
    // TOML that CLI11 writes for the same options (every key, with its help
    // as a comment), and short ones as people write them.
    write_text(config / "run_config.json", kiln::train::to_json(kiln::train::TrainConfig{}).dump(2) + "\n");
    {
        CLI::App app{"kiln"};
        kiln::apps::TrainCommand command;
        command.app = app.add_subcommand("train");
        kiln::apps::add_train_options(*command.app, command, "tiny_cnn, resnet_inspired");
        write_text(config / "all_defaults.toml", command.app->config_to_str(true, true));
    }
    write_text(config / "quick.json", R"({"data": "synth:casting:count=48,size=32", "grayscale": true, "size": 32,)"
                                      R"( "model": "tiny_cnn", "epochs": 3, "batch-size": "auto", "lr": 0.003,)"
                                      R"( "class-weights": "1,2.5", "target-fnr": 0.05, "report": false})" "\n");
    write_text(config / "quick.toml", "# a quick look\ndata = \"runs/data/bottle\"\nout = 'runs/bottle'\nsize = 64\n"
                                      "epochs = 5  # short\nbinary = true\nsplit = \"0.8,0.1,0.1\"\nworkers = 0\n"
                                      "augment = \"standard:rotate_degrees=45,erase_p=0\"\nseed = 18446744073709551615\n");
    write_text(config / "section.ini", "; kiln\n[train]\nmodel=mobilenet_inspired\nwidth=0.25\nlr=1e-3\n"
                                       "schedule=onecycle\nmonitor=fnr\nrestore-best=false\n");
    std::printf("corpus written under %s\n", root.string().c_str());
    return 0;
}
