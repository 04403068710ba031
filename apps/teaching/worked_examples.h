#pragma once
// worked_examples: seed 004's worked examples, computed by kiln's own ops and
// optimizers, so a reader can check the numbers of the tutorial.
//   batch norm of [2, 0.5, -1, 1.5] (training, gamma 1, beta 0, eps 1e-5) -> [1.09, -0.22, -1.53, 0.65]
//   one SGD step,     w = 1, g = -8, lr = 0.1:               w = 1 + 0.8           = 1.8
//   one RMSProp step, w = 1, g = -8, lr = 0.1, rho = 0.9:    v = 6.4, w = 1 + 0.8 / sqrt(6.4) = 1.316
//   one Adam step,    w = 1, g = -8, lr = 0.1 (defaults):    w = 1 + 0.1 = 1.1 (bias correction makes the
//                     first step lr sign(g); seed 004 says 1.8, which is the SGD step)
#include <string>
#include <vector>

namespace kiln::teaching {

struct WorkedExamples {
    std::vector<double> batch_norm_input, batch_norm_output;  // kiln::batch_norm, float64
    double batch_mean = 0, batch_variance = 0;                // biased variance, as batch norm uses
    double gradient = -8, learning_rate = 0.1;
    double sgd_w = 0;       // kiln::optim::SGD
    double rmsprop_v = 0;   // RMSProp's square average after the step
    double rmsprop_w = 0;   // kiln::optim::RMSprop, alpha (rho) 0.9, eps 1e-8
    double adam_w = 0;      // kiln::optim::Adam, beta 0.9 / 0.999, eps 1e-8
};

WorkedExamples worked_examples();
std::string worked_examples_text(const WorkedExamples& examples);

}  // namespace kiln::teaching
