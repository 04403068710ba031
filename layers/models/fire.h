#pragma once
// SqueezeNet's Fire module, torchvision's child names:
//   s = relu(squeeze(x))  (1x1)
//   y = cat(relu(expand1x1(s)), relu(expand3x3(s)))  on channels
#include "layers/models/common.h"

namespace kiln::models {

class Fire : public Module {
public:
    Fire(int64_t in, int64_t squeeze_planes, int64_t expand1x1_planes, int64_t expand3x3_planes, Generator& generator);
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<Conv2d> squeeze, expand1x1, expand3x3;
    std::shared_ptr<ReLU> squeeze_activation, expand1x1_activation, expand3x3_activation;
};

// SqueezeNet 1.1's front, shared by squeezenet1_1 and squeezenet_inspired:
// 3x3 stride-2 stem conv + ReLU, max pool, Fire(64->16->64+64) x2, max pool,
// Fire(128->32->128+128) x2. Appended to `features`; the stem's padding is the
// only difference between the two nets.
void append_squeezenet_front(Sequential& features, const ModelConfig& config, int64_t stem_padding,
                             Generator& generator);

// torchvision's SqueezeNet init: convs kaiming_uniform_(a = 0), the final
// (classifier) conv N(0, 0.01), biases 0.
void squeezenet_init(Module& model, const Conv2d& final_conv, Generator& generator);

}  // namespace kiln::models
