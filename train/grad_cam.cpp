#include "train/grad_cam.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "data/resize.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "layers/sequential.h"

namespace kiln::train {

namespace {

struct Split {
    std::vector<Module*> stages;      // the trunk, in order
    std::vector<std::string> names;
    std::function<Tensor(const Tensor&)> head;  // after the last stage
};

bool has_child(const Module& m, const std::string& name) {
    for (const auto& [n, child] : m.named_children())
        if (n == name) return true;
    return false;
}

Split split_model(const Module& model) {
    Split s;
    if (has_child(model, "features") && has_child(model, "classifier")) {
        Module& features = model.submodule("features");
        for (const auto& [name, child] : features.named_children()) s.stages.push_back(child.get()), s.names.push_back("features." + name);
        Module& classifier = model.submodule("classifier");
        if (has_child(model, "avgpool")) {
            Module& avgpool = model.submodule("avgpool");
            s.head = [&avgpool, &classifier](const Tensor& a) { return classifier(flatten(avgpool(a), 1)); };
        } else {
            s.head = [&classifier](const Tensor& a) { return flatten(classifier(a), 1); };
        }
        return s;
    }
    if (has_child(model, "conv1") && has_child(model, "fc")) {
        for (const auto& [name, child] : model.named_children()) {
            if (name == "avgpool" || name == "dropout" || name == "fc") continue;
            s.stages.push_back(child.get()), s.names.push_back(name);
        }
        Module& avgpool = model.submodule("avgpool");
        Module& fc = model.submodule("fc");
        Module* dropout = has_child(model, "dropout") ? &model.submodule("dropout") : nullptr;
        s.head = [&avgpool, &fc, dropout](const Tensor& a) {
            Tensor y = flatten(avgpool(a), 1);
            return fc(dropout ? (*dropout)(y) : y);
        };
        return s;
    }
    fail("grad-cam: model ", model.type_name(), " is not split into a trunk and a head here (zoo nets only)");
}

}  // namespace

std::vector<std::string> grad_cam_layers(const Module& model) { return split_model(model).names; }

GradCam grad_cam(Module& model, const Tensor& input, int64_t target_class, const std::string& layer) {
    KILN_CHECK(input.dim() == 4 && input.shape()[0] == 1, "grad-cam: input must be [1, C, H, W], got ",
               shape_str(input.shape()));
    const Split s = split_model(model);
    size_t cut = s.stages.size() - 1;
    if (!layer.empty()) {
        const auto it = std::find(s.names.begin(), s.names.end(), layer);
        if (it == s.names.end()) {
            std::string known;
            for (const auto& n : s.names) known += (known.empty() ? "" : ", ") + n;
            fail("--layer: \"", layer, "\" is not a stage of ", model.type_name(), " (stages: ", known, ")");
        }
        cut = size_t(it - s.names.begin());
    }
    model.eval();
    Tensor a;
    {
        NoGradGuard no_grad;
        a = input;
        for (size_t i = 0; i <= cut; ++i) a = (*s.stages[i])(a);
    }
    a = a.detach().set_requires_grad(true);
    Tensor y = a;
    for (size_t i = cut + 1; i < s.stages.size(); ++i) y = (*s.stages[i])(y);
    const Tensor logits = s.head(y);  // [1, classes]
    GradCam cam;
    cam.layer = s.names[cut];
    {
        NoGradGuard no_grad;
        for (double p : softmax(logits.detach(), 1).to(Device::cpu()).to_vector()) cam.probs.push_back(float(p));
    }
    const int64_t classes = logits.shape()[1];
    if (target_class < 0) target_class = int64_t(std::max_element(cam.probs.begin(), cam.probs.end()) - cam.probs.begin());
    KILN_CHECK(target_class < classes, "grad-cam: class ", target_class, " of ", classes);
    cam.target_class = target_class;
    sum(logits.narrow(1, target_class, 1)).backward();
    const Tensor grad = a.grad();
    KILN_CHECK(grad.defined(), "grad-cam: no gradient reached layer ", cam.layer);

    const Shape shape = a.shape();  // [1, K, h, w]
    const int64_t K = shape[1], h = shape[2], w = shape[3];
    const std::vector<double> A = a.detach().to(Device::cpu()).to_vector(), G = grad.to(Device::cpu()).to_vector();
    std::vector<double> map(size_t(h * w), 0.0);
    for (int64_t k = 0; k < K; ++k) {
        double alpha = 0;
        for (int64_t i = 0; i < h * w; ++i) alpha += G[size_t(k * h * w + i)];
        alpha /= double(h * w);
        for (int64_t i = 0; i < h * w; ++i) map[size_t(i)] += alpha * A[size_t(k * h * w + i)];
    }
    double top = 0;
    for (double& v : map) v = std::max(v, 0.0), top = std::max(top, v);
    data::Image small(int(h), int(w), 1);
    for (int64_t i = 0; i < h * w; ++i) small.pixels[size_t(i)] = top > 0 ? float(map[size_t(i)] / top) : 0.f;
    const int H = int(input.shape()[2]), W = int(input.shape()[3]);
    const data::Image big = data::resize(small, H, W, data::Interpolation::bilinear);
    cam.height = H, cam.width = W;
    cam.heatmap = big.pixels;
    for (float& v : cam.heatmap) v = std::clamp(v, 0.f, 1.f);
    model.zero_grad();
    return cam;
}

data::Image overlay_heatmap(const data::Image& image, const GradCam& cam, float alpha) {
    KILN_CHECK(image.height == cam.height && image.width == cam.width, "grad-cam: image ", image.height, "x", image.width,
               " and heatmap ", cam.height, "x", cam.width, " differ");
    data::Image out(image.height, image.width, 3);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) {
            const float v = cam.heatmap[size_t(y * image.width + x)];
            // jet: blue -> cyan -> yellow -> red
            const float r = std::clamp(1.5f - std::abs(4 * v - 3), 0.f, 1.f), g = std::clamp(1.5f - std::abs(4 * v - 2), 0.f, 1.f),
                        b = std::clamp(1.5f - std::abs(4 * v - 1), 0.f, 1.f);
            const float heat[3] = {r, g, b};
            for (int c = 0; c < 3; ++c) {
                const float base = image.at(y, x, image.channels == 1 ? 0 : c);
                out.at(y, x, c) = (1 - alpha) * base + alpha * heat[c];
            }
        }
    return out;
}

}  // namespace kiln::train
