// kiln demo: the smallest complete training loop, built only from engine ops.
//
// Data: 8x8 grayscale "parts", a smooth shading plus sensor noise; half carry
// a defect, a bright scratch along a random row, column or diagonal.
// Model: x [N, 64] -> linear 64->32 -> relu -> linear 32->2 -> logits.
// Loss: softmax cross-entropy, written out from exp/log/max/sum.
// Update: SGD, w <- w - lr * dL/dw.
#include "apps/demo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace kiln::apps {

namespace {

constexpr int64_t image_side = 8, pixels = image_side * image_side, hidden = 32, classes = 2;

struct Batch {
    Tensor images;  // [N, 64]
    Tensor onehot;  // [N, 2]
    std::vector<int64_t> labels;
};

Batch make_parts(int64_t count, Generator& generator) {
    const std::vector<double> noise = Tensor::rand({count, pixels}, DType::float64, generator).to_vector();
    const std::vector<double> choice = Tensor::rand({count, 4}, DType::float64, generator).to_vector();
    std::vector<double> images(size_t(count * pixels)), onehot(size_t(count * classes), 0.0);
    std::vector<int64_t> labels(static_cast<size_t>(count));
    for (int64_t n = 0; n < count; ++n) {
        const bool defect = choice[size_t(n * 4)] < 0.5;
        const int64_t kind = int64_t(choice[size_t(n * 4 + 1)] * 3), line = int64_t(choice[size_t(n * 4 + 2)] * 8);
        const double shade = 0.3 + 0.2 * choice[size_t(n * 4 + 3)];
        for (int64_t y = 0; y < image_side; ++y) {
            for (int64_t x = 0; x < image_side; ++x) {
                double value = shade + 0.03 * double(x + y) + 0.2 * (noise[size_t(n * pixels + y * image_side + x)] - 0.5);
                const bool on_scratch = (kind == 0 && y == line) || (kind == 1 && x == line) || (kind == 2 && x == y);
                if (defect && on_scratch) value += 0.6;
                images[size_t(n * pixels + y * image_side + x)] = value - 0.5;  // centred near 0, as normalisation would
            }
        }
        labels[size_t(n)] = defect ? 1 : 0;
        onehot[size_t(n * classes + labels[size_t(n)])] = 1;
    }
    return {Tensor::from_vector(images, {count, pixels}), Tensor::from_vector(onehot, {count, classes}), labels};
}

// mean over the batch of -log softmax(logits)[label]
Tensor cross_entropy_by_hand(const Tensor& logits, const Tensor& onehot) {
    const Tensor shift = max(logits, 1, true).values.detach();  // for stability; the loss does not depend on it
    const Tensor log_sum_exp = log(sum(exp(logits - shift), {1}, true)) + shift;
    return -mean(sum((logits - log_sum_exp) * onehot, {1}));
}

double accuracy(const Tensor& logits, const std::vector<int64_t>& labels) {
    const std::vector<double> predicted = argmax(logits, 1).to_vector();
    int64_t correct = 0;
    for (size_t i = 0; i < labels.size(); ++i) correct += int64_t(predicted[i]) == labels[i];
    return double(correct) / double(labels.size());
}

}  // namespace

int run_demo(const DemoOptions& options) {
    Generator generator(options.seed);
    const int64_t train_count = 2048, test_count = 512;
    const Batch train = make_parts(train_count, generator), test = make_parts(test_count, generator);

    // PyTorch's default init for linear layers: U(-1/sqrt(in), 1/sqrt(in)).
    auto uniform_param = [&](const Shape& shape, double bound, const char* name) {
        Tensor p;
        {
            NoGradGuard no_grad;
            p = (Tensor::rand(shape, DType::float32, generator) * (2 * bound) - bound).detach();
        }
        return p.set_requires_grad(true).set_name(name);
    };
    std::vector<Tensor> params = {
        uniform_param({hidden, pixels}, 1 / std::sqrt(double(pixels)), "fc1.weight"),
        uniform_param({hidden}, 1 / std::sqrt(double(pixels)), "fc1.bias"),
        uniform_param({classes, hidden}, 1 / std::sqrt(double(hidden)), "fc2.weight"),
        uniform_param({classes}, 1 / std::sqrt(double(hidden)), "fc2.bias"),
    };
    auto forward = [&](const Tensor& x) {
        const Tensor h = clamp(linear(x, params[0], params[1]), 0.0, {});  // relu
        return linear(h, params[2], params[3]);
    };

    std::printf("kiln demo: 2-layer net, %lld training and %lld test images of 8x8 parts (clean vs scratched)\n",
                (long long)train_count, (long long)test_count);
    double first_loss = 0, last_loss = 0;
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        double epoch_loss = 0;
        int64_t batches = 0;
        for (int64_t start = 0; start < train_count; start += options.batch_size) {
            const int64_t size = std::min<int64_t>(options.batch_size, train_count - start);
            const Tensor loss =
                cross_entropy_by_hand(forward(train.images.narrow(0, start, size)), train.onehot.narrow(0, start, size));
            loss.backward();
            NoGradGuard no_grad;
            for (Tensor& p : params) {  // SGD step, then clear the gradient for the next batch
                p.copy_(p - p.grad() * options.learning_rate);
                p.set_grad(Tensor());
            }
            epoch_loss += loss.item();
            ++batches;
        }
        epoch_loss /= double(batches);
        if (epoch == 1) first_loss = epoch_loss;
        last_loss = epoch_loss;
        if (epoch == 1 || epoch % 5 == 0 || epoch == options.epochs) {
            NoGradGuard no_grad;
            std::printf("epoch %3d  loss %.4f  test accuracy %.1f%%\n", epoch, epoch_loss,
                        100 * accuracy(forward(test.images), test.labels));
        }
    }
    NoGradGuard no_grad;
    const double test_accuracy = accuracy(forward(test.images), test.labels);
    std::printf("report: loss %.4f -> %.4f over %d epochs; test accuracy %.1f%% (chance 50%%)\n", first_loss,
                last_loss, options.epochs, 100 * test_accuracy);
    const bool learned = last_loss < first_loss && test_accuracy > 0.6;
    if (!learned) std::fprintf(stderr, "kiln demo: the net did not learn (see the losses above)\n");
    return learned ? 0 : 1;
}

}  // namespace kiln::apps
