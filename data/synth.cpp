// Rendering of the synthetic parts. Coordinates are in pixels of the
// size x size image; radii are fractions of the part's radius R unless said.
// Edges are anti-aliased with a one-pixel smoothstep so that nothing is a
// single-pixel cue.
#include "data/synth.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/image_io.h"
#include "data/parallel.h"
#include "data/sample_rng.h"

namespace kiln::data {

namespace {

constexpr double pi = 3.14159265358979323846;
constexpr uint64_t synth_stream_tag = 0x73796e7468ull;  // "synth": keeps these streams apart from augmentation's

float smoothstep(float edge0, float edge1, float x) {
    const float t = std::clamp((x - edge0) / (edge1 - edge0), 0.0f, 1.0f);
    return t * t * (3 - 2 * t);
}

// Coverage of "distance < radius" with a one-pixel soft edge.
float inside(float distance, float radius) { return 1.0f - smoothstep(radius - 0.5f, radius + 0.5f, distance); }

float mix(float a, float b, float t) { return a + (b - a) * t; }

// Smooth random texture: a grid of random values, interpolated (smoothstep),
// summed over octaves. Values roughly in [-1, 1].
class ValueNoise {
public:
    ValueNoise(SampleRng& rng, int size, int cells, int octaves) : size_(size) {
        for (int o = 0; o < octaves; ++o) {
            Octave octave;
            octave.cells = cells << o;
            octave.amplitude = 1.0f / float(1 << o);
            const int n = octave.cells + 2;
            octave.values.resize(static_cast<size_t>(n * n));
            for (float& v : octave.values) v = rng.uniform(-1, 1);
            octaves_.push_back(std::move(octave));
        }
    }
    float at(float x, float y) const {
        float sum = 0;
        for (const Octave& o : octaves_) {
            const float gx = x / float(size_) * float(o.cells), gy = y / float(size_) * float(o.cells);
            const int ix = std::clamp(int(gx), 0, o.cells), iy = std::clamp(int(gy), 0, o.cells);
            float fx = std::clamp(gx - float(ix), 0.0f, 1.0f), fy = std::clamp(gy - float(iy), 0.0f, 1.0f);
            fx = fx * fx * (3 - 2 * fx), fy = fy * fy * (3 - 2 * fy);
            const int n = o.cells + 2;
            auto v = [&](int yy, int xx) { return o.values[static_cast<size_t>(yy * n + xx)]; };
            sum += o.amplitude * mix(mix(v(iy, ix), v(iy, ix + 1), fx), mix(v(iy + 1, ix), v(iy + 1, ix + 1), fx), fy);
        }
        return sum;
    }

private:
    struct Octave {
        int cells = 1;
        float amplitude = 1;
        std::vector<float> values;
    };
    int size_;
    std::vector<Octave> octaves_;
};

// An irregular blob: radius modulated by a few random harmonics of the angle.
struct Blob {
    float cx = 0, cy = 0, radius = 1;
    float harmonic[3] = {0, 0, 0}, phase[3] = {0, 0, 0};

    static Blob random(SampleRng& rng, float cx, float cy, float radius, float roughness) {
        Blob b;
        b.cx = cx, b.cy = cy, b.radius = radius;
        for (int k = 0; k < 3; ++k) {
            b.harmonic[k] = rng.uniform(0, roughness) / float(k + 1);
            b.phase[k] = rng.uniform(0, float(2 * pi));
        }
        return b;
    }
    // Coverage in [0, 1] of pixel (x, y).
    float coverage(float x, float y) const {
        const float dx = x - cx, dy = y - cy;
        const float angle = std::atan2(dy, dx);
        float r = radius;
        for (int k = 0; k < 3; ++k) r *= 1 + harmonic[k] * std::sin(float(k + 2) * angle + phase[k]);
        return inside(std::sqrt(dx * dx + dy * dy), r);
    }
    bool near(float x, float y) const {  // cheap bounding test
        return std::fabs(x - cx) < radius * 1.8f + 1 && std::fabs(y - cy) < radius * 1.8f + 1;
    }
};

// A crack: a jagged polyline, dark, about one pixel wide.
struct Crack {
    std::vector<float> xs, ys;
    float width = 0.7f;
    float min_x = 0, max_x = 0, min_y = 0, max_y = 0;

    float coverage(float x, float y) const {
        if (x < min_x - 2 || x > max_x + 2 || y < min_y - 2 || y > max_y + 2) return 0;
        float best = 1e9f;
        for (size_t i = 0; i + 1 < xs.size(); ++i) {
            const float ax = xs[i], ay = ys[i], bx = xs[i + 1] - ax, by = ys[i + 1] - ay;
            const float t = std::clamp(((x - ax) * bx + (y - ay) * by) / (bx * bx + by * by + 1e-9f), 0.0f, 1.0f);
            const float dx = x - ax - t * bx, dy = y - ay - t * by;
            best = std::min(best, dx * dx + dy * dy);
        }
        return inside(std::sqrt(best), width);
    }
};

// Common variation of a part: where, how big, how lit.
struct Pose {
    float cx, cy, radius;
    float light_x, light_y, light_strength;  // a linear lighting gradient across the image
    float highlight_angle;                   // where the specular highlight sits

    static Pose random(SampleRng& rng, int size) {
        Pose p;
        const float s = float(size);
        p.cx = s * (0.5f + rng.uniform(-0.04f, 0.04f));
        p.cy = s * (0.5f + rng.uniform(-0.04f, 0.04f));
        p.radius = s * rng.uniform(0.38f, 0.44f);
        const float a = rng.uniform(0, float(2 * pi));
        p.light_x = std::cos(a), p.light_y = std::sin(a);
        p.light_strength = rng.uniform(0.0f, 0.18f);
        p.highlight_angle = rng.uniform(0, float(2 * pi));
        return p;
    }
    // 1 +- strength/2 across the image.
    float light(float x, float y, int size) const {
        return 1.0f + light_strength * ((x / float(size) - 0.5f) * light_x + (y / float(size) - 0.5f) * light_y);
    }
};

// Faint dust specks on every part (good ones too): small, low contrast.
std::vector<Blob> dust(SampleRng& rng, const Pose& pose) {
    std::vector<Blob> specks(rng.below(5));
    for (Blob& b : specks) {
        const float a = rng.uniform(0, float(2 * pi)), r = pose.radius * std::sqrt(rng.uniform(0, 0.9f));
        b = Blob::random(rng, pose.cx + r * std::cos(a), pose.cy + r * std::sin(a), rng.uniform(0.6f, 1.3f), 0.2f);
    }
    return specks;
}

// ---- bottle --------------------------------------------------------------------------------

SynthSample render_bottle(SampleRng& rng, int size, int64_t label) {
    SynthSample out;
    out.label = label;
    out.image = Image(size, size, 3);
    out.mask = Image(size, size, 1);
    const Pose pose = Pose::random(rng, size);
    const ValueNoise texture(rng, size, 6, 3), background_noise(rng, size, 4, 2);
    // Amber to olive glass.
    const float tint_r = rng.uniform(0.85f, 1.05f), tint_g = rng.uniform(0.75f, 0.95f), tint_b = rng.uniform(0.45f, 0.65f);
    const float brightness = rng.uniform(0.8f, 1.1f);
    const float neck_radius = rng.uniform(0.30f, 0.36f);  // the dark hole down the neck, in R
    const std::vector<Blob> specks = dust(rng, pose);

    // The defect, if any.
    Blob breakage;  // broken_large / broken_small: a bite out of the rim
    std::vector<Blob> stains;
    float stain_r = 0, stain_g = 0, stain_b = 0;
    const bool broken = label == 1 || label == 2;
    if (broken) {
        out.defect = label == 1 ? "broken_large" : "broken_small";
        const float a = rng.uniform(0, float(2 * pi));
        const float depth = rng.uniform(0.92f, 1.02f);  // where on the rim it is centred
        const float r = pose.radius * (label == 1 ? rng.uniform(0.22f, 0.34f) : rng.uniform(0.08f, 0.13f));
        breakage = Blob::random(rng, pose.cx + pose.radius * depth * std::cos(a),
                                pose.cy + pose.radius * depth * std::sin(a), r, 0.35f);
    } else if (label == 3) {
        out.defect = "contamination";
        stains.resize(1 + rng.below(3));
        for (Blob& b : stains) {
            const float a = rng.uniform(0, float(2 * pi)), r = pose.radius * rng.uniform(0.42f, 0.8f);
            b = Blob::random(rng, pose.cx + r * std::cos(a), pose.cy + r * std::sin(a),
                             pose.radius * rng.uniform(0.05f, 0.1f), 0.45f);
        }
        const bool dark = rng.bernoulli(0.5f);  // dark dirt or a pale deposit
        stain_r = dark ? 0.18f : 0.75f, stain_g = dark ? 0.12f : 0.72f, stain_b = dark ? 0.08f : 0.62f;
    }

    for (int y = 0; y < size; ++y) {
        for (int x = 0; x < size; ++x) {
            const float px = float(x) + 0.5f, py = float(y) + 0.5f;
            const float dx = px - pose.cx, dy = py - pose.cy;
            const float d = std::sqrt(dx * dx + dy * dy), r = d / pose.radius;
            const float light = pose.light(px, py, size) * brightness;
            // Background: near black, faint structure.
            const float bg = 0.05f + 0.025f * background_noise.at(px, py);
            // Glass intensity by radius: bright rim, shaded shoulder, dark neck hole with a lit ring.
            float glass = 0.55f + 0.25f * smoothstep(0.78f, 0.95f, r) - 0.2f * smoothstep(0.95f, 1.0f, r);
            glass *= 1 - 0.45f * smoothstep(neck_radius + 0.12f, neck_radius, r);      // darker towards the neck
            glass += 0.25f * std::exp(-std::pow((r - neck_radius - 0.05f) / 0.035f, 2.0f));  // the neck's lit lip
            glass *= 1 - 0.85f * inside(r, neck_radius);                              // the hole itself
            const float angle = std::atan2(dy, dx);
            glass += 0.25f * std::exp(-std::pow((r - 0.7f) / 0.08f, 2.0f)) *
                     std::pow(std::max(0.0f, std::cos(angle - pose.highlight_angle)), 8.0f);  // specular highlight
            glass += 0.05f * texture.at(px, py);
            glass *= light;
            float coverage = inside(d, pose.radius);
            float defect = 0;
            // Broken glass: the bite shows background, its edge a bright fracture line.
            if (broken && breakage.near(px, py)) {
                const float bite = breakage.coverage(px, py);
                const float edge = bite * (1 - bite) * 4;  // peaks on the bite's boundary
                defect = bite * coverage;
                glass += 0.35f * edge;
                coverage *= 1 - bite;
                coverage = std::max(coverage, 0.6f * edge * inside(d, pose.radius));
            }
            float rgb[3] = {glass * tint_r, glass * tint_g, glass * tint_b};
            for (const Blob& b : stains) {
                if (!b.near(px, py)) continue;
                const float s = b.coverage(px, py) * 0.85f * coverage;
                rgb[0] = mix(rgb[0], stain_r * light, s), rgb[1] = mix(rgb[1], stain_g * light, s),
                rgb[2] = mix(rgb[2], stain_b * light, s);
                defect = std::max(defect, s > 0.2f ? 1.0f : 0.0f);
            }
            for (const Blob& b : specks) {
                if (!b.near(px, py)) continue;
                const float s = 0.12f * b.coverage(px, py);
                for (float& v : rgb) v += s;
            }
            for (int c = 0; c < 3; ++c) out.image.at(y, x, c) = std::clamp(mix(bg, rgb[c], coverage), 0.0f, 1.0f);
            out.mask.at(y, x) = defect > 0.5f ? 1.0f : 0.0f;
        }
    }
    return out;
}

// ---- casting -------------------------------------------------------------------------------

SynthSample render_casting(SampleRng& rng, int size, int64_t label) {
    SynthSample out;
    out.label = label;
    out.image = Image(size, size, 1);
    out.mask = Image(size, size, 1);
    const Pose pose = Pose::random(rng, size);
    const ValueNoise sand(rng, size, 16, 2), mottle(rng, size, 4, 2), background_noise(rng, size, 5, 2);
    const float metal = rng.uniform(0.5f, 0.62f), background = rng.uniform(0.2f, 0.3f);
    const float hub = rng.uniform(0.28f, 0.34f), ridge = rng.uniform(0.6f, 0.7f), bore = rng.uniform(0.1f, 0.14f);
    // Bolt holes: part of the design (4 to 8, evenly spaced, random phase), so
    // round dark pits alone do not mean "defect".
    const int holes = 4 + int(rng.below(5));
    const float hole_phase = rng.uniform(0, float(2 * pi)), hole_ring = rng.uniform(0.8f, 0.86f);
    const float hole_radius = rng.uniform(0.035f, 0.05f);
    const std::vector<Blob> specks = dust(rng, pose);

    std::vector<Blob> blowholes;
    Crack crack;
    Blob chip;
    int kind = -1;
    if (label == 1) {
        kind = int(rng.below(3));
        if (kind == 0) {
            out.defect = "blowhole";
            blowholes.resize(1 + rng.below(4));
            for (Blob& b : blowholes) {
                const float a = rng.uniform(0, float(2 * pi)), r = pose.radius * rng.uniform(0.2f, 0.92f);
                b = Blob::random(rng, pose.cx + r * std::cos(a), pose.cy + r * std::sin(a),
                                 float(size) * rng.uniform(0.012f, 0.03f), 0.3f);
            }
        } else if (kind == 1) {
            out.defect = "crack";
            float a = rng.uniform(0, float(2 * pi)), r = pose.radius * rng.uniform(0.3f, 0.85f);
            float x = pose.cx + r * std::cos(a), y = pose.cy + r * std::sin(a);
            float heading = rng.uniform(0, float(2 * pi));
            const int steps = 8 + int(rng.below(8));
            const float step = float(size) * rng.uniform(0.018f, 0.03f);
            crack.width = rng.uniform(0.5f, 0.9f);
            for (int i = 0; i <= steps; ++i) {
                crack.xs.push_back(x), crack.ys.push_back(y);
                heading += rng.uniform(-0.7f, 0.7f);
                x += step * std::cos(heading), y += step * std::sin(heading);
            }
            crack.min_x = *std::min_element(crack.xs.begin(), crack.xs.end());
            crack.max_x = *std::max_element(crack.xs.begin(), crack.xs.end());
            crack.min_y = *std::min_element(crack.ys.begin(), crack.ys.end());
            crack.max_y = *std::max_element(crack.ys.begin(), crack.ys.end());
        } else {
            out.defect = "chipped_edge";
            const float a = rng.uniform(0, float(2 * pi));
            chip = Blob::random(rng, pose.cx + pose.radius * std::cos(a), pose.cy + pose.radius * std::sin(a),
                                pose.radius * rng.uniform(0.1f, 0.2f), 0.4f);
        }
    }

    for (int y = 0; y < size; ++y) {
        for (int x = 0; x < size; ++x) {
            const float px = float(x) + 0.5f, py = float(y) + 0.5f;
            const float dx = px - pose.cx, dy = py - pose.cy;
            const float d = std::sqrt(dx * dx + dy * dy), r = d / pose.radius;
            const float light = pose.light(px, py, size);
            const float bg = background * light + 0.03f * background_noise.at(px, py);
            // Relief shading: a surface tilted towards the light is brighter.
            // Radial normal component n_r of each step: +1 rising, -1 falling.
            const float along = (dx * pose.light_x + dy * pose.light_y) / (d + 1e-6f);
            float v = metal + 0.06f * mottle.at(px, py) + 0.05f * sand.at(px, py);
            v += 0.08f * inside(r, hub);                                   // raised hub, brighter
            v += 0.12f * along * std::exp(-std::pow((r - ridge) / 0.025f, 2.0f));  // the ridge's lit flank
            v += 0.10f * along * std::exp(-std::pow((r - hub) / 0.02f, 2.0f));
            v = mix(v, 0.08f, inside(r, bore));                            // the centre bore
            for (int h = 0; h < holes; ++h) {
                const float ha = hole_phase + float(2 * pi) * float(h) / float(holes);
                const float hx = pose.cx + pose.radius * hole_ring * std::cos(ha), hy = pose.cy + pose.radius * hole_ring * std::sin(ha);
                const float hd = std::sqrt((px - hx) * (px - hx) + (py - hy) * (py - hy));
                v = mix(v, 0.12f, inside(hd, pose.radius * hole_radius));
            }
            v *= light;
            float defect = 0;
            for (const Blob& b : blowholes) {
                if (!b.near(px, py)) continue;
                const float s = b.coverage(px, py);
                // A pit: dark inside, its far rim lit.
                const float rim = s * (1 - s) * 4;
                v = mix(v, 0.1f, s * 0.9f) + 0.12f * rim * (((px - b.cx) * pose.light_x + (py - b.cy) * pose.light_y) > 0);
                defect = std::max(defect, s);
            }
            if (!crack.xs.empty()) {
                const float s = crack.coverage(px, py);
                v = mix(v, 0.12f, 0.8f * s);
                defect = std::max(defect, s);
            }
            float coverage = inside(d, pose.radius);
            if (kind == 2 && chip.near(px, py)) {
                const float bite = chip.coverage(px, py);
                defect = std::max(defect, bite * coverage);
                v += 0.1f * bite * (1 - bite) * 4;  // fresh fracture, brighter
                coverage *= 1 - bite;
            }
            for (const Blob& b : specks) {
                if (!b.near(px, py)) continue;
                v -= 0.08f * b.coverage(px, py);  // faint dark specks: sand inclusions within tolerance
            }
            out.image.at(y, x) = std::clamp(mix(bg, v, coverage), 0.0f, 1.0f);
            out.mask.at(y, x) = defect > 0.5f ? 1.0f : 0.0f;
        }
    }
    return out;
}

}  // namespace

SynthKind parse_synth_kind(const std::string& name) {
    if (name == "bottle") return SynthKind::bottle;
    if (name == "casting") return SynthKind::casting;
    fail("synth: unknown kind \"", name, "\" (bottle or casting)");
}

const char* synth_kind_name(SynthKind kind) { return kind == SynthKind::bottle ? "bottle" : "casting"; }

std::vector<std::string> synth_class_names(SynthKind kind) {
    if (kind == SynthKind::bottle) return {"good", "broken_large", "broken_small", "contamination"};
    return {"good", "defect"};
}

namespace {
void check_options(const SynthOptions& o) {
    KILN_CHECK(o.size >= 16 && o.size <= 4096, "synth: size ", o.size, " is outside [16, 4096]");
    KILN_CHECK(o.count >= 1, "synth: count must be at least 1, got ", o.count);
    KILN_CHECK(o.defect_ratio >= 0 && o.defect_ratio <= 1, "synth: defect ratio ", o.defect_ratio,
               " is not a fraction in [0, 1]");
}
}  // namespace

int64_t synth_good_count(const SynthOptions& options) {
    check_options(options);
    return options.count - int64_t(std::llround(double(options.count) * options.defect_ratio));
}

SynthSample generate_synth_sample(const SynthOptions& options, int64_t index) {
    const int64_t good = synth_good_count(options);
    KILN_CHECK(index >= 0 && index < options.count, "synth: index ", index, " outside [0, ", options.count, ")");
    const int64_t defect_classes = int64_t(synth_class_names(options.kind).size()) - 1;
    const int64_t label = index < good ? 0 : 1 + (index - good) % defect_classes;
    SampleRng rng(stream_key(options.seed, synth_stream_tag, uint64_t(options.kind)), uint64_t(index));
    return options.kind == SynthKind::bottle ? render_bottle(rng, options.size, label)
                                             : render_casting(rng, options.size, label);
}

SynthSet generate_synth(const SynthOptions& options) {
    check_options(options);
    SynthSet set;
    set.class_names = synth_class_names(options.kind);
    set.samples.resize(static_cast<size_t>(options.count));
    parallel_for(set.samples.size(), options.threads,
                 [&](size_t i) { set.samples[i] = generate_synth_sample(options, int64_t(i)); });
    return set;
}

std::vector<int64_t> write_synth(const SynthOptions& options, const std::string& out_dir, const std::string& mask_dir) {
    check_options(options);
    const std::vector<std::string> names = synth_class_names(options.kind);
    namespace fs = std::filesystem;
    for (const std::string& name : names) {
        std::error_code error;
        fs::create_directories(fs::path(out_dir) / name, error);
        KILN_CHECK(!error, "synth: cannot create ", (fs::path(out_dir) / name).string(), ": ", error.message());
        if (!mask_dir.empty()) {
            fs::create_directories(fs::path(mask_dir) / name, error);
            KILN_CHECK(!error, "synth: cannot create ", (fs::path(mask_dir) / name).string(), ": ", error.message());
        }
    }
    std::vector<int64_t> counts(names.size(), 0);
    for (int64_t i = 0; i < options.count; ++i) {  // labels are a function of the index (generate_synth_sample)
        const int64_t good = synth_good_count(options);
        counts[static_cast<size_t>(i < good ? 0 : 1 + (i - good) % int64_t(names.size() - 1))]++;
    }
    parallel_for(static_cast<size_t>(options.count), options.threads, [&](size_t i) {
        const SynthSample sample = generate_synth_sample(options, int64_t(i));
        const std::string& name = names[static_cast<size_t>(sample.label)];
        const std::string file = kiln::str(name, "_", std::string(4 - std::min<size_t>(4, std::to_string(i).size()), '0'), i, ".png");
        write_image((fs::path(out_dir) / name / file).string(), sample.image);
        if (!mask_dir.empty()) write_image((fs::path(mask_dir) / name / file).string(), sample.mask);
    });
    return counts;
}

}  // namespace kiln::data
