// `kiln train --batch-size auto` on emu, whose device memory can be capped to
// simulate a small GPU: the finder picks the largest power of two whose
// training step fits, and a run falls back to gradient accumulation to reach
// the requested effective batch.
#include <doctest/doctest.h>

#include <filesystem>

#include "engine/ops.h"
#include "kernels/emu/device_memory.h"
#include "layers/models/models.h"
#include "train/trainer.h"

using namespace kiln;
namespace fs = std::filesystem;

namespace {

train::TrainConfig tiny_emu_config() {
    train::TrainConfig c;
    c.data = "synth:casting:count=24,size=16";
    c.grayscale = true;
    c.size = 16;
    c.model = "tiny_cnn";
    c.width = 0.5;
    c.device = "emu";
    c.workers = 1;
    c.report = false;
    return c;
}

// One training step of c's model at batch b on emu, under the current cap.
bool step_fits(const train::TrainConfig& c, int64_t b) {
    models::ModelConfig mc;
    mc.num_classes = 2, mc.in_channels = 1, mc.width = c.width, mc.seed = c.seed;
    try {
        auto model = models::make_model(c.model, mc);
        model->to(Device::emu());
        const Tensor x = Tensor::zeros({b, 1, c.size, c.size}).to(Device::emu());
        const Tensor labels = Tensor::from_int64(std::vector<int64_t>(size_t(b), 0), {b}).to(Device::emu());
        cross_entropy((*model)(x), labels).backward();
        return true;
    } catch (const Error&) {
        return false;
    }
}

struct Uncap {
    ~Uncap() { simt::set_device_memory_limit(0); }
};

}  // namespace

TEST_CASE("--batch-size auto: the largest power of two whose step fits the device memory") {
    const Uncap uncap;
    const train::TrainConfig c = tiny_emu_config();
    // Room for a few images' activations beside what is held now (emu tensors
    // get exact-size blocks, freed at once: no cache to empty between tries).
    simt::set_device_memory_limit(simt::device_bytes_in_use() + 160 * 1024);
    const int64_t b = train::find_batch_size(c, 2, 1);
    MESSAGE("batch found under the cap: " << b);
    CHECK(b >= 1);
    CHECK(b < 256);
    CHECK((b & (b - 1)) == 0);
    CHECK(step_fits(c, b));
    CHECK_FALSE(step_fits(c, 2 * b));
}

TEST_CASE("--batch-size auto with --effective-batch: accumulation makes up the difference") {
    const Uncap uncap;
    const fs::path out = fs::temp_directory_path() / "kiln_test_batch_auto";
    fs::remove_all(out);
    train::TrainConfig c = tiny_emu_config();
    c.out = out.string();
    c.epochs = 1;
    c.batch_size = "auto";
    c.effective_batch = 16;
    simt::set_device_memory_limit(simt::device_bytes_in_use() + 160 * 1024);
    const train::TrainResult result = train::train(c);
    MESSAGE("batch " << result.batch_size << " x " << result.accumulate);
    CHECK(result.batch_size < 16);
    CHECK(result.batch_size * result.accumulate >= 16);
    CHECK(result.batch_size * (result.accumulate - 1) < 16);
    CHECK(result.epochs_done == 1);
    fs::remove_all(out);
}
