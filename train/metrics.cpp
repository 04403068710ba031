#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "data/dataset.h"
#include "engine/error.h"

namespace kiln::train {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

int64_t good_class_index(const std::vector<std::string>& class_names) {
    for (size_t c = 0; c < class_names.size(); ++c)
        if (data::is_good_class_name(class_names[c])) return int64_t(c);
    return -1;
}

std::vector<double> defect_scores(const Scores& scores, int64_t good_class) {
    std::vector<double> out(scores.size(), nan);
    if (good_class < 0) return out;
    for (size_t i = 0; i < scores.size(); ++i)
        out[i] = 1.0 - double(scores.probs[i * size_t(scores.num_classes) + size_t(good_class)]);
    return out;
}

int64_t predict_class(const float* probs, int64_t num_classes, int64_t good_class, std::optional<double> threshold) {
    if (!threshold || good_class < 0)
        return int64_t(std::max_element(probs, probs + num_classes) - probs);
    if (1.0 - double(probs[good_class]) < *threshold) return good_class;
    int64_t best = -1;
    for (int64_t c = 0; c < num_classes; ++c)
        if (c != good_class && (best < 0 || probs[c] > probs[best])) best = c;
    return best < 0 ? good_class : best;
}

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
    const size_t n = scores.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    double rank_sum = 0, positives = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && scores[order[j]] == scores[order[i]]) ++j;
        const double rank = 0.5 * double(i + 1 + j);  // mean of ranks i+1 .. j
        for (size_t k = i; k < j; ++k)
            if (positive[order[k]]) rank_sum += rank, positives += 1;
        i = j;
    }
    const double negatives = double(n) - positives;
    if (positives == 0 || negatives == 0) return nan;
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

std::vector<std::pair<double, double>> roc_curve(const std::vector<double>& scores, const std::vector<bool>& positive) {
    const size_t n = scores.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    double p = 0, q = 0;
    for (size_t i = 0; i < n; ++i) (positive[i] ? p : q) += 1;
    std::vector<std::pair<double, double>> curve{{0.0, 0.0}};
    double tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && scores[order[j]] == scores[order[i]]) (positive[order[j]] ? tp : fp) += 1, ++j;
        curve.emplace_back(ratio(fp, q), ratio(tp, p));
        i = j;
    }
    return curve;
}

Metrics compute_metrics(const Scores& scores, int64_t good_class, std::optional<double> threshold, double loss) {
    const int64_t C = scores.num_classes;
    KILN_CHECK(C > 0 && scores.probs.size() == scores.size() * size_t(C), "metrics: ", scores.probs.size(),
               " probabilities for ", scores.size(), " samples of ", C, " classes");
    Metrics m;
    m.count = int64_t(scores.size());
    m.loss = loss;
    m.threshold = good_class >= 0 ? threshold : std::nullopt;
    m.confusion.assign(size_t(C), std::vector<int64_t>(size_t(C), 0));
    int64_t correct = 0, defects = 0, missed = 0, goods = 0, false_alarms = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
        const int64_t truth = scores.labels[i];
        KILN_CHECK(truth >= 0 && truth < C, "metrics: label ", truth, " outside [0, ", C, ")");
        const int64_t predicted = predict_class(&scores.probs[i * size_t(C)], C, good_class, m.threshold);
        ++m.confusion[size_t(truth)][size_t(predicted)];
        correct += predicted == truth;
        if (good_class >= 0) {
            if (truth == good_class) ++goods, false_alarms += predicted != good_class;
            else ++defects, missed += predicted == good_class;
        }
    }
    m.accuracy = ratio(double(correct), double(m.count));
    m.precision.resize(size_t(C));
    m.recall.resize(size_t(C));
    m.f1.resize(size_t(C));
    m.support.resize(size_t(C));
    for (int64_t c = 0; c < C; ++c) {
        int64_t tp = m.confusion[size_t(c)][size_t(c)], predicted = 0, actual = 0;
        for (int64_t k = 0; k < C; ++k) predicted += m.confusion[size_t(k)][size_t(c)], actual += m.confusion[size_t(c)][size_t(k)];
        const double p = ratio(double(tp), double(predicted)), r = ratio(double(tp), double(actual));
        m.precision[size_t(c)] = p;
        m.recall[size_t(c)] = r;
        m.f1[size_t(c)] = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
        m.support[size_t(c)] = actual;
    }
    m.macro_f1 = std::accumulate(m.f1.begin(), m.f1.end(), 0.0) / double(C);
    m.fnr = good_class >= 0 && defects > 0 ? double(missed) / double(defects) : nan;
    m.fpr = good_class >= 0 && goods > 0 ? double(false_alarms) / double(goods) : nan;
    // ROC-AUC: binary on the defect score; else the mean one-vs-rest AUC.
    if (C == 2) {
        const int64_t positive_class = good_class >= 0 ? 1 - good_class : 1;
        std::vector<double> s(scores.size());
        std::vector<bool> pos(scores.size());
        for (size_t i = 0; i < scores.size(); ++i)
            s[i] = scores.probs[i * 2 + size_t(positive_class)], pos[i] = scores.labels[i] == positive_class;
        m.roc_auc = roc_auc(s, pos);
    } else {
        double total = 0;
        int present = 0;
        for (int64_t c = 0; c < C; ++c) {
            std::vector<double> s(scores.size());
            std::vector<bool> pos(scores.size());
            for (size_t i = 0; i < scores.size(); ++i) s[i] = scores.probs[i * size_t(C) + size_t(c)], pos[i] = scores.labels[i] == c;
            const double auc = roc_auc(s, pos);
            if (std::isfinite(auc)) total += auc, ++present;
        }
        m.roc_auc = present ? total / present : nan;
    }
    return m;
}

nlohmann::json to_json(const Metrics& m) {
    nlohmann::json j;
    j["count"] = m.count;
    j["loss"] = number(m.loss);
    j["accuracy"] = number(m.accuracy);
    j["macro_f1"] = number(m.macro_f1);
    j["roc_auc"] = number(m.roc_auc);
    j["fnr"] = number(m.fnr);
    j["fpr"] = number(m.fpr);
    j["threshold"] = m.threshold ? nlohmann::json(*m.threshold) : nlohmann::json(nullptr);
    j["precision"] = m.precision;
    j["recall"] = m.recall;
    j["f1"] = m.f1;
    j["support"] = m.support;
    j["confusion"] = m.confusion;
    return j;
}

double metric_value(const Metrics& m, const std::string& name) {
    if (name == "loss") return m.loss;
    if (name == "accuracy") return m.accuracy;
    if (name == "macro_f1") return m.macro_f1;
    if (name == "roc_auc") return m.roc_auc;
    if (name == "fnr") return m.fnr;
    if (name == "fpr") return m.fpr;
    fail("metrics: unknown metric \"", name, "\" (known: loss, accuracy, macro_f1, roc_auc, fnr, fpr)");
}

}  // namespace kiln::train
