#include "train/report.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/image_io.h"
#include "engine/file.h"
#include "train/data_setup.h"
#include "train/grad_cam.h"

namespace kiln::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '&') out += "&amp;";
        else if (c == '"') out += "&quot;";
        else out += c;
    }
    return out;
}

std::string num(double v, const char* f = "%.4f") {
    if (!std::isfinite(v)) return "n/a";
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

double get(const json& j, const char* key) {
    return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : NAN;
}

struct Series {
    std::string name, color;
    std::vector<std::pair<double, double>> points;
    bool dashed = false;
};

// A line chart: x and y axes with ticks, one polyline per series, a legend.
std::string line_chart(const std::string& title, const std::vector<Series>& series, bool log_y = false,
                       std::optional<std::pair<double, double>> y_range = std::nullopt, const std::string& x_label = "epoch",
                       bool square = false) {
    const double W = square ? 360 : 520, H = square ? 340 : 260, L = 58, R = 12, T = 28, B = 40;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    auto ty = [&](double y) { return log_y ? std::log10(std::max(y, 1e-12)) : y; };
    for (const auto& s : series)
        for (auto [x, y] : s.points)
            if (std::isfinite(y)) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, ty(y)), y1 = std::max(y1, ty(y));
    if (y_range) y0 = y_range->first, y1 = y_range->second;
    if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1, y0 -= 1;
    auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    auto py = [&](double y) { return T + (1 - (ty(y) - y0) / (y1 - y0)) * (H - T - B); };
    std::ostringstream o;
    o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' class='chart'>";
    o << "<text x='" << W / 2 << "' y='16' text-anchor='middle' font-weight='bold'>" << escape(title) << "</text>";
    o << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
      << "' fill='none' stroke='#999'/>";
    for (int i = 0; i <= 4; ++i) {
        const double yv = y0 + (y1 - y0) * i / 4, yy = T + (1 - double(i) / 4) * (H - T - B);
        const double shown = log_y ? std::pow(10.0, yv) : yv;
        o << "<line x1='" << L << "' x2='" << W - R << "' y1='" << yy << "' y2='" << yy << "' stroke='#eee'/>";
        o << "<text x='" << L - 4 << "' y='" << yy + 4 << "' text-anchor='end' font-size='11'>"
          << num(shown, log_y ? "%.0e" : (std::abs(y1 - y0) < 0.1 ? "%.3f" : "%.2f")) << "</text>";
        const double xv = x0 + (x1 - x0) * i / 4;
        o << "<text x='" << px(xv) << "' y='" << H - B + 15 << "' text-anchor='middle' font-size='11'>"
          << num(xv, x1 - x0 < 4 ? "%.2f" : "%.0f") << "</text>";
    }
    o << "<text x='" << (L + W - R) / 2 << "' y='" << H - 6 << "' text-anchor='middle' font-size='12'>" << escape(x_label)
      << "</text>";
    double legend_y = T + 14;
    for (const auto& s : series) {
        std::string pts;
        for (auto [x, y] : s.points)
            if (std::isfinite(y)) pts += num(px(x), "%.1f") + "," + num(py(y), "%.1f") + " ";
        o << "<polyline fill='none' stroke='" << s.color << "' stroke-width='2'" << (s.dashed ? " stroke-dasharray='5,4'" : "")
          << " points='" << pts << "'/>";
        o << "<line x1='" << W - R - 120 << "' x2='" << W - R - 100 << "' y1='" << legend_y - 4 << "' y2='" << legend_y - 4
          << "' stroke='" << s.color << "' stroke-width='2'/><text x='" << W - R - 96 << "' y='" << legend_y
          << "' font-size='11'>" << escape(s.name) << "</text>";
        legend_y += 15;
    }
    o << "</svg>";
    return o.str();
}

std::string confusion_table(const Metrics& m, const std::vector<std::string>& names) {
    std::ostringstream o;
    o << "<table class='cm'><tr><th>true \\ predicted</th>";
    for (const auto& n : names) o << "<th>" << escape(n) << "</th>";
    o << "</tr>";
    for (size_t t = 0; t < m.confusion.size(); ++t) {
        int64_t row = 0;
        for (int64_t v : m.confusion[t]) row += v;
        o << "<tr><th>" << escape(names[t]) << "</th>";
        for (size_t p = 0; p < m.confusion[t].size(); ++p) {
            const double f = row ? double(m.confusion[t][p]) / double(row) : 0;
            const int shade = int(255 - 170 * f);
            const std::string color = t == p ? "rgb(" + std::to_string(shade) + ",255," + std::to_string(shade) + ")"
                                             : "rgb(255," + std::to_string(shade) + "," + std::to_string(shade) + ")";
            o << "<td style='background:" << (m.confusion[t][p] ? color : "#fff") << "'>" << m.confusion[t][p] << "</td>";
        }
        o << "</tr>";
    }
    o << "</table>";
    return o.str();
}

std::string class_table(const Metrics& m, const std::vector<std::string>& names) {
    std::ostringstream o;
    o << "<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>";
    for (size_t c = 0; c < names.size(); ++c)
        o << "<tr><td>" << escape(names[c]) << "</td><td>" << num(m.precision[c]) << "</td><td>" << num(m.recall[c])
          << "</td><td>" << num(m.f1[c]) << "</td><td>" << m.support[c] << "</td></tr>";
    o << "<tr><th>macro</th><td></td><td></td><th>" << num(m.macro_f1) << "</th><td>" << m.count << "</td></tr></table>";
    return o.str();
}

const char* base64_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
std::string base64(const std::vector<uint8_t>& bytes) {
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
        for (int s = 18; s >= 0; s -= 6) out += base64_chars[(v >> s) & 63];
    }
    if (i + 1 == bytes.size()) {
        const uint32_t v = uint32_t(bytes[i]) << 16;
        out += base64_chars[(v >> 18) & 63], out += base64_chars[(v >> 12) & 63], out += "==";
    } else if (i + 2 == bytes.size()) {
        const uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8;
        out += base64_chars[(v >> 18) & 63], out += base64_chars[(v >> 12) & 63], out += base64_chars[(v >> 6) & 63], out += "=";
    }
    return out;
}

}  // namespace

std::string png_data_uri(const data::Image& image) {
    const fs::path tmp = fs::temp_directory_path() / ("kiln-report-" + std::to_string(::getpid()) + ".png");
    data::write_image(tmp.string(), image);
    const std::vector<uint8_t> bytes = data::read_file_bytes(tmp.string());
    fs::remove(tmp);
    return "data:image/png;base64," + base64(bytes);
}

void write_report(const std::string& path, const ReportInput& in) {
    const bool have_test = in.test_scores.size() > 0;
    const Scores& shown = have_test ? in.test_scores : in.val_scores;
    const std::string shown_name = have_test ? "test" : "validation";
    const Metrics m = compute_metrics(shown, in.good_class, in.threshold);
    std::ostringstream o;
    o << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" << escape(in.title) << "</title><style>"
      << "body{font-family:sans-serif;margin:24px;color:#222;max-width:1150px}h1{font-size:22px}h2{font-size:18px;"
         "border-bottom:1px solid #ccc;margin-top:28px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px "
         "solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:12px}"
         ".chart{border:1px solid #ddd;background:#fff}.cams{display:flex;flex-wrap:wrap;gap:10px}.cam{font-size:12px;"
         "text-align:center}.cam img{width:160px;height:160px;image-rendering:pixelated;display:block}.ok{color:#070}"
         ".bad{color:#b00}pre{background:#f6f6f6;padding:8px;font-size:12px}.big{font-size:15px}"
      << "</style></head><body><h1>" << escape(in.title) << "</h1>";
    // Summary.
    o << "<p class='big'>";
    if (!in.final_record.is_null() && in.final_record.contains("stop_reason"))
        o << "Stopped: <b>" << escape(in.final_record["stop_reason"].get<std::string>()) << "</b> after "
          << in.history.size() << " epochs; best epoch <b>" << in.final_record.value("best_epoch", 0) << "</b>; "
          << num(get(in.final_record, "seconds"), "%.1f") << " s.<br>";
    o << "On the " << shown_name << " set (" << m.count << " images): accuracy <b>" << num(m.accuracy) << "</b>, macro-F1 <b>"
      << num(m.macro_f1) << "</b>, ROC-AUC <b>" << num(m.roc_auc) << "</b>";
    if (in.good_class >= 0)
        o << ", miss rate (FNR) <b>" << num(m.fnr) << "</b>, false-alarm rate (FPR) <b>" << num(m.fpr) << "</b>";
    o << ".</p>";
    if (in.threshold) {
        o << "<p>Decision threshold on the defect score (1 &minus; p(" << escape(in.class_names[size_t(in.good_class)])
          << ")): <b>" << num(*in.threshold) << "</b>";
        if (!in.final_record.is_null() && in.final_record.contains("threshold"))
            o << ", tuned on validation for " << escape(in.final_record["threshold"].value("goal", std::string())) << " (val FNR "
              << num(in.final_record["threshold"].value("val_fnr", NAN)) << ", FPR "
              << num(in.final_record["threshold"].value("val_fpr", NAN)) << ")";
        o << ". A part is called defective when its score &ge; the threshold.</p>";
    } else if (in.good_class < 0) {
        o << "<p>No good class (every class is a defect type): predictions are the argmax; FNR/FPR do not apply.</p>";
    }
    // Curves.
    if (!in.history.empty()) {
        Series tl{"train loss", "#1f77b4", {}}, vl{"val loss", "#d62728", {}}, va{"val accuracy", "#2ca02c", {}},
            vf{"val macro-F1", "#9467bd", {}}, vn{"val FNR", "#d62728", {}, true}, ta{"train accuracy", "#1f77b4", {}, true},
            lr{"lr", "#ff7f0e", {}};
        for (const json& h : in.history) {
            const double e = h.at("epoch").get<double>();
            tl.points.emplace_back(e, get(h.at("train"), "loss"));
            vl.points.emplace_back(e, get(h.at("val"), "loss"));
            va.points.emplace_back(e, get(h.at("val"), "accuracy"));
            ta.points.emplace_back(e, get(h.at("train"), "accuracy"));
            vf.points.emplace_back(e, get(h.at("val"), "macro_f1"));
            vn.points.emplace_back(e, get(h.at("val"), "fnr"));
            lr.points.emplace_back(e, get(h, "lr"));
        }
        o << "<h2>Training curves</h2><div class='charts'>" << line_chart("Loss", {tl, vl})
          << line_chart("Metrics", {ta, va, vf, vn}, false, std::make_pair(0.0, 1.0))
          << line_chart("Learning rate (end of epoch)", {lr}, true) << "</div>";
    }
    // Confusion matrix, per-class table, ROC.
    o << "<h2>Confusion matrix and per-class metrics (" << shown_name << ")</h2><div class='charts'><div>"
      << confusion_table(m, in.class_names) << "</div><div>" << class_table(m, in.class_names) << "</div>";
    {
        std::vector<Series> roc;
        if (in.good_class >= 0) {
            const std::vector<double> s = defect_scores(shown, in.good_class);
            std::vector<bool> pos(shown.size());
            for (size_t i = 0; i < pos.size(); ++i) pos[i] = shown.labels[i] != in.good_class;
            roc.push_back({"defect vs good", "#d62728", roc_curve(s, pos)});
        } else {
            const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
            for (int64_t c = 0; c < shown.num_classes; ++c) {
                std::vector<double> s(shown.size());
                std::vector<bool> pos(shown.size());
                for (size_t i = 0; i < s.size(); ++i) s[i] = shown.probs[i * size_t(shown.num_classes) + size_t(c)], pos[i] = shown.labels[i] == c;
                roc.push_back({in.class_names[size_t(c)], colors[c % 8], roc_curve(s, pos)});
            }
        }
        roc.push_back({"chance", "#aaa", {{0, 0}, {1, 1}}, true});
        o << line_chart("ROC (AUC " + num(m.roc_auc) + ")", roc, false, std::make_pair(0.0, 1.0), "false-positive rate", true);
    }
    o << "</div>";
    // Grad-CAM overlays.
    if (in.model && in.dataset && have_test && in.test_indices.size() == in.test_scores.size()) {
        std::vector<size_t> right, wrong;
        for (size_t i = 0; i < in.test_scores.size(); ++i) {
            const int64_t p = predict_class(&in.test_scores.probs[i * size_t(in.test_scores.num_classes)],
                                            in.test_scores.num_classes, in.good_class, in.threshold);
            auto& list = p == in.test_scores.labels[i] ? right : wrong;
            // Prefer defects among the correct ones: their heatmaps say the most.
            if (&list == &right && in.test_scores.labels[i] == in.good_class && right.size() >= size_t(in.overlays_each / 2)) continue;
            if (list.size() < size_t(in.overlays_each)) list.push_back(i);
        }
        o << "<h2>Grad-CAM (" << escape(grad_cam_layers(*in.model).back()) << ", test images)</h2>"
          << "<p>Where the net looked for the class it predicted: red is high, blue low.</p>";
        for (int part = 0; part < 2; ++part) {
            const auto& list = part == 0 ? right : wrong;
            o << "<h3>" << (part == 0 ? "Correct" : "Wrong") << " (" << list.size() << ")</h3><div class='cams'>";
            if (list.empty()) o << "<p>none</p>";
            for (size_t i : list) {
                const size_t index = in.test_indices[i];
                const data::Image image = in.dataset->load(index);
                const Tensor x = image_input(image, in.mean, in.std).to(in.device);
                const GradCam cam = grad_cam(*in.model, x);
                const int64_t truth = in.test_scores.labels[i];
                const int64_t p = predict_class(cam.probs.data(), int64_t(cam.probs.size()), in.good_class, in.threshold);
                o << "<div class='cam'><img src='" << png_data_uri(overlay_heatmap(image, cam)) << "'><span class='"
                  << (p == truth ? "ok" : "bad") << "'>true " << escape(in.class_names[size_t(truth)]) << "<br>predicted "
                  << escape(in.class_names[size_t(p)]) << " (" << num(cam.probs[size_t(p)], "%.2f") << ")</span><br>"
                  << escape(in.dataset->sample(index).id) << "</div>";
            }
            o << "</div>";
        }
    }
    o << "<h2>Config</h2><pre>" << escape(in.config.dump(2)) << "</pre>";
    o << "<p style='font-size:11px;color:#888'>kiln report; the same numbers are in log.jsonl and metrics.json.</p></body></html>\n";
    write_file_atomically(path, {o.str()}, "report");
}

}  // namespace kiln::train
