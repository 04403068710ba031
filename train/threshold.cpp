#include "train/threshold.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace kiln::train {

namespace {
void check_sides(const std::vector<double>& scores, const std::vector<bool>& defect) {
    KILN_CHECK(scores.size() == defect.size(), "threshold: ", scores.size(), " scores for ", defect.size(), " labels");
    const auto positives = std::count(defect.begin(), defect.end(), true);
    KILN_CHECK(positives > 0 && positives < std::ptrdiff_t(defect.size()),
               "threshold: tuning needs good and defect images in the validation set (it has ", positives,
               " defects of ", defect.size(), ")");
}
}  // namespace

ThresholdResult evaluate_threshold(const std::vector<double>& scores, const std::vector<bool>& defect, double threshold) {
    double tp = 0, fn = 0, fp = 0, tn = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
        const bool called = scores[i] >= threshold;
        if (defect[i]) (called ? tp : fn) += 1;
        else (called ? fp : tn) += 1;
    }
    ThresholdResult r;
    r.threshold = threshold;
    r.fnr = tp + fn > 0 ? fn / (tp + fn) : 0;
    r.fpr = fp + tn > 0 ? fp / (fp + tn) : 0;
    r.precision = tp + fp > 0 ? tp / (tp + fp) : 0;
    r.recall = tp + fn > 0 ? tp / (tp + fn) : 0;
    r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0;
    return r;
}

ThresholdResult tune_threshold_for_fnr(const std::vector<double>& scores, const std::vector<bool>& defect, double target) {
    KILN_CHECK(target >= 0 && target <= 1, "--target-fnr must be in [0, 1], got ", target);
    check_sides(scores, defect);
    std::vector<double> positive;
    for (size_t i = 0; i < scores.size(); ++i)
        if (defect[i]) positive.push_back(scores[i]);
    std::sort(positive.begin(), positive.end());
    // At most k misses allowed; the k-th smallest defect score (0-based) as the
    // threshold misses only the defects strictly below it (<= k of them).
    const size_t k = std::min(positive.size() - 1, size_t(std::floor(target * double(positive.size()) + 1e-9)));
    ThresholdResult r = evaluate_threshold(scores, defect, positive[k]);
    r.goal = "target_fnr=" + std::to_string(target);
    return r;
}

ThresholdResult tune_threshold_for_f1(const std::vector<double>& scores, const std::vector<bool>& defect) {
    check_sides(scores, defect);
    std::vector<double> candidates = scores;
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    ThresholdResult best;
    bool first = true;
    for (double t : candidates) {
        const ThresholdResult r = evaluate_threshold(scores, defect, t);
        if (first || r.f1 >= best.f1) best = r, first = false;
    }
    best.goal = "best_f1";
    return best;
}

}  // namespace kiln::train
