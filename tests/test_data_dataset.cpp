// Datasets: image folder, MVTec-AD layout, CSV, bad files, the synthetic set,
// and the real data sets of ../shared/datasets when present.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "data/split.h"
#include "data/synth.h"
#include "tests/data_util.h"
#include "tests/support/skip.h"

using namespace kiln;
using namespace kiln::data;
using kiln::test::TempDir;

namespace {

void write_png(const std::string& path, float value, int size = 12, int channels = 3) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_image(path, Image(size, size, channels, value));
}

DatasetOptions quiet_options(int size = 8) {
    DatasetOptions options;
    options.height = options.width = size;
    options.quiet = true;
    return options;
}

const std::string shared_datasets = KILN_SOURCE_DIR "/../shared/datasets";

}  // namespace

TEST_CASE("image folder: classes sorted, names kept, non-images ignored, masks found beside") {
    TempDir dir;
    const std::string root = dir / "parts";
    write_png(root + "/scratch/s1.png", 0.9f);
    write_png(root + "/good/g2.png", 0.2f);
    write_png(root + "/good/g1.jpg", 0.3f);
    write_png(root + "/crack/c1.bmp", 0.6f);
    write_png(root + "/crack/c2.PNG", 0.6f);
    kiln::test::write_bytes(root + "/good/notes.txt", "not an image");
    kiln::test::write_bytes(root + "/.hidden/x.png", "hidden folders are not classes");
    kiln::test::put_image(dir / "parts-masks/crack/c1.png", Image(12, 12, 1, 1.0f));
    const ImageDataset d = ImageDataset::image_folder(root, quiet_options());
    CHECK(d.class_names() == std::vector<std::string>{"crack", "good", "scratch"});
    CHECK(d.size() == 5);
    CHECK(d.report().ignored_files == 1);
    CHECK(d.report().cached == 5);
    CHECK(d.sample(0).id == "crack/c1.bmp");
    CHECK(d.sample(2).id == "good/g1.jpg");
    CHECK(d.class_counts() == std::vector<int64_t>{2, 2, 1});
    const Image loaded = d.load(4);
    CHECK((loaded.height == 8 && loaded.width == 8 && loaded.channels == 3));
    CHECK(loaded.at(3, 3, 1) == doctest::Approx(0.9f).epsilon(0.01));
    CHECK(d.load_mask(0).at(4, 4) == 1.0f);
    CHECK(d.load_mask(1).at(4, 4) == 0.0f);  // no mask file: empty mask
    DatasetOptions gray = quiet_options(6);
    gray.color = ColorMode::gray;
    CHECK(ImageDataset::image_folder(root, gray).load(0).channels == 1);

    CHECK_THROWS_WITH_AS(ImageDataset::image_folder(dir / "nowhere", quiet_options()),
                         doctest::Contains("nowhere: no such folder"), Error);
    write_png(dir / "flat/a.png", 0.5f);
    CHECK_THROWS_WITH_AS(ImageDataset::image_folder(dir / "flat", quiet_options()),
                         doctest::Contains("no class subfolders"), Error);
}

TEST_CASE("bad images: corrupt, truncated, zero-byte and non-image files are named, skip or fail") {
    TempDir dir;
    const std::string root = dir / "data";
    for (int i = 0; i < 4; ++i) write_png(root + "/good/ok" + std::to_string(i) + ".png", 0.5f, 24);
    for (int i = 0; i < 3; ++i) write_png(root + "/bad/ok" + std::to_string(i) + ".png", 0.1f, 24);
    const std::string png = kiln::test::read_bytes(root + "/good/ok0.png");
    kiln::test::write_bytes(root + "/bad/zero.png", "");
    kiln::test::write_bytes(root + "/bad/truncated.png", png.substr(0, png.size() / 3));
    kiln::test::write_bytes(root + "/good/text.jpg", "just some text, named like an image\n");
    std::string corrupt = png;
    corrupt[1] = 'X';  // signature broken
    kiln::test::write_bytes(root + "/good/corrupt.png", corrupt);

    DatasetOptions skip = quiet_options();
    const ImageDataset d = ImageDataset::image_folder(root, skip);
    CHECK(d.report().listed == 11);
    CHECK(d.size() == 7);
    REQUIRE(d.report().skipped.size() == 4);
    std::string all;
    for (const std::string& message : d.report().skipped) all += message + "\n";
    for (const char* name : {"bad/zero.png: empty file", "bad/truncated.png: ", "good/text.jpg: not a PNG/JPEG/BMP",
                             "good/corrupt.png: not a PNG/JPEG/BMP"})
        CHECK_MESSAGE(all.find(name) != std::string::npos, name, " missing from\n", all);
    for (const Sample& s : d.samples()) CHECK(s.id.find("ok") != std::string::npos);

    DatasetOptions fail_options = quiet_options();
    fail_options.on_bad_image = BadImagePolicy::fail;
    CHECK_THROWS_WITH_AS(ImageDataset::image_folder(root, fail_options),
                         doctest::Contains("4 of 11 images cannot be decoded (on_bad_image = fail); first: image: "),
                         Error);
    CHECK(parse_bad_image_policy("fail") == BadImagePolicy::fail);
    CHECK_THROWS_AS(parse_bad_image_policy("ignore"), Error);
}

TEST_CASE("MVTec-AD layout: good vs defect, or per defect type, with masks") {
    TempDir dir;
    const std::string root = dir / "bottle";
    for (int i = 0; i < 3; ++i) write_png(root + "/train/good/00" + std::to_string(i) + ".png", 0.5f);
    write_png(root + "/test/good/000.png", 0.5f);
    write_png(root + "/test/contamination/000.png", 0.3f);
    write_png(root + "/test/broken_large/000.png", 0.2f);
    write_png(root + "/test/broken_large/001.png", 0.2f);
    kiln::test::put_image(root + "/ground_truth/broken_large/000_mask.png", Image(12, 12, 1, 1.0f));
    const ImageDataset binary = ImageDataset::open(root, quiet_options());
    CHECK(binary.class_names() == std::vector<std::string>{"good", "defect"});
    CHECK(binary.class_counts() == std::vector<int64_t>{4, 3});
    const ImageDataset per_type = ImageDataset::open(root, quiet_options(), true);
    CHECK(per_type.class_names() == std::vector<std::string>{"good", "broken_large", "contamination"});
    CHECK(per_type.class_counts() == std::vector<int64_t>{4, 2, 1});
    size_t with_mask = 0;
    for (size_t i = 0; i < per_type.size(); ++i) with_mask += !per_type.sample(i).mask_path.empty();
    CHECK(with_mask == 1);
    MvtecOptions train_only;
    train_only.subset = "train";
    CHECK(ImageDataset::mvtec(root, train_only, quiet_options()).size() == 3);
}

TEST_CASE("CSV list: names or integer labels, paths relative to the file, errors with line numbers") {
    TempDir dir;
    write_png(dir / "img/a.png", 0.1f);
    write_png(dir / "img/b.png", 0.7f);
    write_png(dir / "img/c d.png", 0.7f);
    kiln::test::write_bytes(dir / "list.csv", "path,label\nimg/a.png,ok\nimg/b.png,dent\n\"img/c d.png\",dent\n");
    const ImageDataset named = ImageDataset::open(dir / "list.csv", quiet_options());
    CHECK(named.class_names() == std::vector<std::string>{"dent", "ok"});
    CHECK(named.labels() == std::vector<int64_t>{1, 0, 0});
    kiln::test::write_bytes(dir / "ints.csv", "img/a.png,0\nimg/b.png,2\n");
    const ImageDataset ints = ImageDataset::csv(dir / "ints.csv", quiet_options());
    CHECK(ints.class_names() == std::vector<std::string>{"0", "1", "2"});
    CHECK(ints.labels() == std::vector<int64_t>{0, 2});
    kiln::test::write_bytes(dir / "broken.csv", "img/a.png,0\nimg/b.png\n");
    CHECK_THROWS_WITH_AS(ImageDataset::csv(dir / "broken.csv", quiet_options()),
                         doctest::Contains("broken.csv:2: expected \"path,label\""), Error);
}

TEST_CASE("synth: seeded, class counts as asked, masks on defects only, same images on any thread count") {
    SynthOptions options;
    options.size = 48;
    options.count = 40;
    options.defect_ratio = 0.25;
    options.threads = 1;
    const SynthSet one = generate_synth(options);
    options.threads = 3;
    const SynthSet three = generate_synth(options);
    REQUIRE(one.samples.size() == 40);
    std::vector<int> per_class(4, 0);
    for (size_t i = 0; i < one.samples.size(); ++i) {
        const SynthSample& s = one.samples[i];
        per_class[static_cast<size_t>(s.label)]++;
        CHECK(s.image.pixels == three.samples[i].image.pixels);
        float mask_area = 0;
        for (float v : s.mask.pixels) mask_area += v;
        if (s.label == 0) CHECK(mask_area == 0);
        else CHECK_MESSAGE(mask_area >= 3, s.defect, " at ", i, " has a mask of ", mask_area, " pixels");
    }
    CHECK(per_class == std::vector<int>{30, 4, 3, 3});
    options.seed = 2;
    CHECK(generate_synth_sample(options, 0).image.pixels != one.samples[0].image.pixels);

    // Good parts vary: not one image repeated with noise.
    double spread = 0;
    for (size_t i = 1; i < 10; ++i)
        for (size_t p = 0; p < one.samples[0].image.pixels.size(); ++p)
            spread += std::fabs(one.samples[i].image.pixels[p] - one.samples[0].image.pixels[p]);
    CHECK(spread / 9 / double(one.samples[0].image.pixels.size()) > 0.02);

    options.kind = SynthKind::casting;
    options.count = 30;
    const SynthSet casting = generate_synth(options);
    CHECK(casting.class_names == std::vector<std::string>{"good", "defect"});
    std::set<std::string> kinds;
    for (const SynthSample& s : casting.samples) {
        CHECK(s.image.channels == 1);
        if (s.label == 1) kinds.insert(s.defect);
    }
    CHECK(kinds.size() >= 2);
}

TEST_CASE("synth: written as an image folder, it loads like any other (and in memory the same)") {
    TempDir dir;
    SynthOptions options;
    options.kind = SynthKind::casting;
    options.size = 32;
    options.count = 12;
    options.defect_ratio = 0.5;
    const std::vector<int64_t> counts = write_synth(options, dir / "cast", dir / "cast-masks");
    CHECK(counts == std::vector<int64_t>{6, 6});
    DatasetOptions load = quiet_options(32);
    load.color = ColorMode::gray;
    const ImageDataset from_disk = ImageDataset::open(dir / "cast", load);
    CHECK(from_disk.class_names() == std::vector<std::string>{"defect", "good"});
    CHECK(from_disk.size() == 12);
    size_t masks = 0;
    for (const Sample& s : from_disk.samples()) masks += !s.mask_path.empty();
    CHECK(masks == 12);
    const ImageDataset in_memory = ImageDataset::open("synth:casting:count=12,defect_ratio=0.5,size=32", load);
    CHECK(in_memory.size() == 12);
    // Sample 0 in memory is good image 0; on disk it is good/good_0000.png (8-bit rounding apart).
    const Image a = in_memory.load(0), b = from_disk.load(6);
    float worst = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::fabs(a.pixels[i] - b.pixels[i]));
    CHECK(worst <= 0.5f / 255 + 1e-6f);
}

TEST_CASE("synth: the built-in default set (1000 images of 128x128) generates in seconds") {
#if !defined(__SANITIZE_ADDRESS__) && defined(NDEBUG)
    constexpr int64_t count = 1000;
#else
    constexpr int64_t count = 100;  // unoptimised sanitizer builds are ~30x slower; the timing means nothing there
#endif
    const auto start = std::chrono::steady_clock::now();
    SynthOptions options;
    options.count = count;
    options.threads = 2;
    const SynthSet set = generate_synth(options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE(count, " bottle images of 128x128 on 2 threads: ", seconds, " s");
    CHECK(set.samples.size() == size_t(count));
#if !defined(__SANITIZE_ADDRESS__) && defined(NDEBUG)
    CHECK(seconds < 15);  // a few seconds on 2 cores; generous for a loaded machine
#endif
}

TEST_CASE("channel statistics over a dataset") {
    std::vector<Image> images = {Image(2, 2, 1, 0.0f), Image(2, 2, 1, 1.0f)};
    DatasetOptions options = quiet_options(2);
    options.color = ColorMode::gray;
    const ImageDataset d = ImageDataset::in_memory({"a", "b"}, images, {0, 1}, options);
    const ChannelStats stats = channel_stats(d, {0, 1});
    CHECK(stats.mean[0] == doctest::Approx(0.5));
    CHECK(stats.std[0] == doctest::Approx(0.5));
}

// ---- the real data sets (../shared/datasets), loaded with the same code ------------------

TEST_CASE("real data: neu-det (6 steel-surface classes), a subset through split and loader") {
    const std::string root = shared_datasets + "/neu-det";
    if (!std::filesystem::is_directory(root)) KILN_SKIP("neu-det: " + root + " not found");
    DatasetOptions options = quiet_options(64);
    options.color = ColorMode::gray;
    options.limit_per_class = 20;  // the full set (1800) is the benchmark's; 120 keep the test fast
    const ImageDataset d = ImageDataset::open(root, options);
    CHECK(d.class_names() == std::vector<std::string>{"crazing", "inclusion", "patches", "pitted_surface",
                                                      "rolled-in_scale", "scratches"});
    CHECK(d.size() == 120);
    CHECK(d.report().skipped.empty());
    const Split split = stratified_split(d, {}, 1);
    LoaderOptions loader_options;
    loader_options.batch_size = 16;
    loader_options.workers = 2;
    loader_options.augment = true;
    loader_options.augmentation.config = augment_preset("standard");
    DataLoader loader(d, split.train, loader_options);
    loader.start_epoch(0);
    Batch batch;
    REQUIRE(loader.next(batch));
    CHECK(batch.images.shape() == Shape{16, 1, 64, 64});
}

TEST_CASE("real data: magnetic-tile (long-tailed, varying sizes) with its masks") {
    const std::string root = shared_datasets + "/magnetic-tile";
    if (!std::filesystem::is_directory(root)) KILN_SKIP("magnetic-tile: " + root + " not found");
    DatasetOptions options = quiet_options(64);
    options.color = ColorMode::gray;
    options.limit_per_class = 12;
    const ImageDataset d = ImageDataset::open(root, options);
    CHECK(d.class_names() == std::vector<std::string>{"blowhole", "break", "crack", "fray", "free", "uneven"});
    CHECK(d.size() == 72);
    size_t with_mask = 0, mask_pixels = 0;
    for (size_t i = 0; i < d.size(); ++i) {
        if (d.sample(i).mask_path.empty()) continue;
        ++with_mask;
        if (d.class_names()[static_cast<size_t>(d.sample(i).label)] == "blowhole")
            for (float v : d.load_mask(i).pixels) mask_pixels += v > 0;
    }
    CHECK(with_mask == 72);     // magnetic-tile-masks, found beside the images
    CHECK(mask_pixels > 0);     // blowholes have marked pixels
    const AugmentPolicy policy = good_and_defect_policy(d.class_names(), augment_preset("standard"), augment_preset("light"));
    CHECK(policy.per_class.size() == 5);  // "free" is the good class
    const Split split = stratified_split(d, {}, 3);
    CHECK(split.test.size() >= 6);
}
