#pragma once
// Decision-threshold tuning on the defect score (1 - p(good)).
//
// An image is called a defect when score >= threshold. Two goals:
//   target_fnr(t): the largest threshold whose miss rate on the tuning set is
//                  <= t (the fewest false alarms that keep the misses within
//                  the target: seed 002's "FNR first");
//   best_f1:       the threshold maximising F1 of the defect side (ties: the
//                  larger threshold).
// Candidates are the scores themselves, so the chosen threshold reproduces
// the reported FNR/FPR exactly on the tuning set.
#include <string>
#include <vector>

namespace kiln::train {

struct ThresholdResult {
    double threshold = 0.5;
    double fnr = 0, fpr = 0, precision = 0, recall = 0, f1 = 0;
    std::string goal;  // "target_fnr=0.01" or "best_f1"
};

// FNR, FPR, precision, recall and F1 at one threshold.
ThresholdResult evaluate_threshold(const std::vector<double>& scores, const std::vector<bool>& defect, double threshold);
// Requires at least one defect and one good sample; target in [0, 1].
ThresholdResult tune_threshold_for_fnr(const std::vector<double>& scores, const std::vector<bool>& defect, double target_fnr);
ThresholdResult tune_threshold_for_f1(const std::vector<double>& scores, const std::vector<bool>& defect);

}  // namespace kiln::train
