#include "data/sampler.h"

#include <algorithm>
#include <numeric>

#include "data/sample_rng.h"
#include "engine/error.h"

namespace kiln::data {

namespace {
constexpr uint64_t sampler_stream_tag = 0x73616d706c65ull;  // "sample"

void shuffle(std::vector<size_t>& v, SampleRng& rng) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(uint32_t(i))]);
}
}  // namespace

SamplerKind parse_sampler(const std::string& name) {
    if (name == "sequential") return SamplerKind::sequential;
    if (name == "shuffle") return SamplerKind::shuffle;
    if (name == "weighted") return SamplerKind::weighted;
    if (name == "balanced") return SamplerKind::balanced;
    fail("sampler: \"", name, "\" is not one of sequential, shuffle, weighted, balanced");
}

const char* sampler_name(SamplerKind kind) {
    switch (kind) {
    case SamplerKind::sequential: return "sequential";
    case SamplerKind::shuffle: return "shuffle";
    case SamplerKind::weighted: return "weighted";
    case SamplerKind::balanced: return "balanced";
    }
    return "?";
}

std::vector<size_t> sequential_order(size_t n) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    return order;
}

std::vector<size_t> shuffled_order(size_t n, uint64_t seed, int64_t epoch) {
    std::vector<size_t> order = sequential_order(n);
    SampleRng rng(stream_key(seed, sampler_stream_tag, uint64_t(epoch)), 0);
    shuffle(order, rng);
    return order;
}

std::vector<size_t> weighted_order(const std::vector<double>& weights, size_t count, uint64_t seed, int64_t epoch) {
    KILN_CHECK(!weights.empty(), "weighted sampler: no weights");
    std::vector<double> cumulative(weights.size());
    double total = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
        KILN_CHECK(weights[i] >= 0, "weighted sampler: weight ", i, " is negative (", weights[i], ")");
        cumulative[i] = total += weights[i];
    }
    KILN_CHECK(total > 0, "weighted sampler: the weights sum to 0");
    SampleRng rng(stream_key(seed, sampler_stream_tag + 1, uint64_t(epoch)), 0);
    std::vector<size_t> order(count);
    for (size_t& o : order) {
        // 53 random bits: two draws, so tiny weights are still reached.
        const double u = (double(rng.next_u32() >> 5) * 67108864.0 + double(rng.next_u32() >> 6)) / 9007199254740992.0;
        o = size_t(std::upper_bound(cumulative.begin(), cumulative.end(), u * total) - cumulative.begin());
        o = std::min(o, weights.size() - 1);  // u * total rounding up to total
    }
    return order;
}

std::vector<double> inverse_frequency_weights(const std::vector<int64_t>& labels, int64_t num_classes) {
    std::vector<double> count(static_cast<size_t>(num_classes), 0);
    for (int64_t l : labels) {
        KILN_CHECK(l >= 0 && l < num_classes, "sampler: label ", l, " outside the ", num_classes, " classes");
        count[static_cast<size_t>(l)] += 1;
    }
    std::vector<double> weights;
    weights.reserve(labels.size());
    for (int64_t l : labels) weights.push_back(1.0 / count[static_cast<size_t>(l)]);
    return weights;
}

std::vector<size_t> balanced_order(const std::vector<int64_t>& labels, int64_t num_classes, int64_t batch_size,
                                   size_t count, uint64_t seed, int64_t epoch) {
    KILN_CHECK(batch_size > 0, "balanced sampler: batch size must be positive");
    std::vector<std::vector<size_t>> members(static_cast<size_t>(num_classes));
    for (size_t i = 0; i < labels.size(); ++i) {
        KILN_CHECK(labels[i] >= 0 && labels[i] < num_classes, "balanced sampler: label ", labels[i], " outside the ",
                   num_classes, " classes");
        members[static_cast<size_t>(labels[i])].push_back(i);
    }
    std::vector<size_t> present;  // classes with at least one sample in this subset
    for (size_t c = 0; c < members.size(); ++c)
        if (!members[c].empty()) present.push_back(c);
    KILN_CHECK(!present.empty(), "balanced sampler: no samples");
    SampleRng rng(stream_key(seed, sampler_stream_tag + 2, uint64_t(epoch)), 0);
    std::vector<size_t> cursor(members.size(), 0);
    for (size_t c : present) shuffle(members[c], rng);
    auto draw = [&](size_t c) {
        if (cursor[c] == members[c].size()) {  // cycle done: reshuffle
            shuffle(members[c], rng);
            cursor[c] = 0;
        }
        return members[c][cursor[c]++];
    };
    std::vector<size_t> order;
    order.reserve(count);
    size_t turn = 0;  // which class gets the next remainder slot
    while (order.size() < count) {
        const size_t in_batch = std::min<size_t>(size_t(batch_size), count - order.size());
        std::vector<size_t> batch;
        for (size_t k = 0; k < in_batch / present.size(); ++k)
            for (size_t c : present) batch.push_back(draw(c));
        while (batch.size() < in_batch) batch.push_back(draw(present[turn++ % present.size()]));
        shuffle(batch, rng);  // classes mixed within the batch
        order.insert(order.end(), batch.begin(), batch.end());
    }
    return order;
}

}  // namespace kiln::data
