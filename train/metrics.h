#pragma once
// Classification metrics of one pass over a data set, with the defect classes
// as the positive side ("any defect vs good"):
//
//   accuracy          correct / N
//   precision_c       TP_c / (TP_c + FP_c)        (0 when nothing was predicted c)
//   recall_c          TP_c / (TP_c + FN_c)        (0 when class c has no samples)
//   f1_c              2 P R / (P + R)             (0 when P + R = 0)
//   macro_f1          mean of f1_c over the classes
//   confusion[t][p]   samples of true class t predicted p
//   roc_auc           binary: AUC of the defect score; more classes: mean of the
//                     one-vs-rest AUCs of the classes present (Mann-Whitney, ties 1/2)
//   fnr (miss rate)   defects called good / defects
//   fpr               good parts called defect / good parts
//
// The defect score of an image is 1 - p(good). With a threshold, an image is a
// defect when its score >= threshold and then gets the most probable defect
// class; without one, the prediction is the argmax. With no good class (every
// class a defect type) fnr, fpr and the defect score are undefined (NaN).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::train {

struct Metrics {
    int64_t count = 0;
    double loss = 0;
    double accuracy = 0;
    std::vector<double> precision, recall, f1;
    std::vector<int64_t> support;
    double macro_f1 = 0;
    std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
    double roc_auc = 0;
    double fnr = 0, fpr = 0;                      // NaN without a good class
    std::optional<double> threshold;              // the decision rule used (unset: argmax)
};

// Predictions of a pass: probs is N x C row-major (softmax outputs).
struct Scores {
    int64_t num_classes = 0;
    std::vector<float> probs;
    std::vector<int64_t> labels;
    size_t size() const { return labels.size(); }
};

// The index of the good class of `class_names` (data::is_good_class_name), or -1.
int64_t good_class_index(const std::vector<std::string>& class_names);
// 1 - p(good) of each image (NaN when good_class < 0).
std::vector<double> defect_scores(const Scores& scores, int64_t good_class);
// The predicted class of image i (see the header comment).
int64_t predict_class(const float* probs, int64_t num_classes, int64_t good_class, std::optional<double> threshold);
// Area under the ROC curve of `scores` with `positive` the positive samples
// (Mann-Whitney U with tied ranks averaged); NaN when one side is empty.
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);
// ROC curve points (fpr, tpr), from (0, 0) to (1, 1), one per distinct score.
std::vector<std::pair<double, double>> roc_curve(const std::vector<double>& scores, const std::vector<bool>& positive);

Metrics compute_metrics(const Scores& scores, int64_t good_class, std::optional<double> threshold = std::nullopt,
                        double loss = 0);

// {"loss", "accuracy", "macro_f1", "roc_auc", "fnr", "fpr", "precision": [...], ...}; NaN as null.
nlohmann::json to_json(const Metrics& metrics);
// A metric by name: loss, accuracy, macro_f1, roc_auc, fnr, fpr.
double metric_value(const Metrics& metrics, const std::string& name);

}  // namespace kiln::train
