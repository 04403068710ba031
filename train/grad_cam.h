#pragma once
// Grad-CAM (Selvaraju et al. 2017) on a zoo model.
//
// How the activations and their gradients are reached: the net is re-run in
// two parts. The zoo's nets are a trunk of stages (`features.0`, `features.1`,
// ... for the MobileNets, SqueezeNets and tiny_cnn; `conv1`, `bn1`, `relu`,
// `maxpool`, `layer1` ... `layer4` for the ResNets) and a head (pooling,
// flatten, classifier). The trunk up to the chosen layer runs under no-grad;
// its output A is detached and marked requires_grad, the rest of the net runs
// on A, and backward() of the class score (the logit, before softmax) gives
// dScore/dA by kiln's own autograd. No hook into Module::forward is needed,
// and the layer's output is exactly what the full forward computes.
//
//   alpha_k = mean over (i, j) of dScore/dA_k(i, j)     (channel weights)
//   cam     = relu(sum_k alpha_k A_k), scaled to [0, 1] by its maximum,
//             bilinearly upsampled to the input size
//
// The default layer is the last stage of the trunk (the last conv block's
// output); `layer` may name another stage ("features.3", "layer3").
#include <string>
#include <vector>

#include "data/image.h"
#include "layers/module.h"

namespace kiln::train {

struct GradCam {
    int height = 0, width = 0;       // of the input
    std::vector<float> heatmap;      // height * width values in [0, 1]
    int64_t target_class = 0;
    std::vector<float> probs;        // softmax of the logits
    std::string layer;               // the stage used
};

// input [1, C, H, W] (normalised as in training), on the model's device.
// target_class < 0: the predicted class.
GradCam grad_cam(Module& model, const Tensor& input, int64_t target_class = -1, const std::string& layer = "");
// The stages of the trunk, in order (what `layer` may name).
std::vector<std::string> grad_cam_layers(const Module& model);
// The image (1 or 3 channels, [0, 1]) with the heatmap blended over it as a jet colour map.
data::Image overlay_heatmap(const data::Image& image, const GradCam& cam, float alpha = 0.45f);

}  // namespace kiln::train
