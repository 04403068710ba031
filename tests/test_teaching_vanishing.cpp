// vanishing_gradients (apps/teaching/vanishing_gradients.h): the sigmoid net's
// gradient vanishes towards the input; skip connections and batch norm keep it.
#include <doctest/doctest.h>

#include <cmath>

#include "apps/teaching/vanishing_gradients.h"

using namespace kiln::teaching;

TEST_CASE("vanishing_gradients: sigmoid vanishes, skip and batch norm keep the first layer's gradient") {
    const VanishingResult result = vanishing_gradients();
    REQUIRE(result.variants.size() == 4);
    const VariantCurves &sigmoid = result.variants[0], &relu = result.variants[1], &skip = result.variants[2],
                        &bn = result.variants[3];
    CHECK(sigmoid.name == "sigmoid");
    CHECK(bn.name == "relu+bn");
    for (const VariantCurves& v : result.variants) {
        REQUIRE(v.grad_norm_init.size() == 20);
        REQUIRE(v.grad_norm_trained.size() == 20);
        for (double g : v.grad_norm_init) CHECK(std::isfinite(g));
        CHECK(v.first_to_last_init == doctest::Approx(v.grad_norm_init.front() / v.grad_norm_init.back()));
    }
    // Orders of magnitude: 20 sigmoid layers shrink the gradient by far more than a million.
    CHECK(sigmoid.first_to_last_init < 1e-6);
    CHECK(relu.first_to_last_init < 1e-3);  // PyTorch's default init is too small for plain ReLU
    // Within a factor: the skip and BN nets keep the first layer's gradient of the order of the last's.
    CHECK(skip.first_to_last_init > 1e-2);
    CHECK(skip.first_to_last_init < 1e2);
    CHECK(bn.first_to_last_init > 1e-2);
    CHECK(bn.first_to_last_init < 1e2);
    // And they train, while the sigmoid net stays near the loss of a constant guess.
    CHECK(skip.loss_trained < 0.5 * skip.loss_init);
    CHECK(bn.loss_trained < 0.5 * bn.loss_init);
    CHECK(sigmoid.loss_trained > 0.6);
    CHECK(sigmoid.first_to_last_trained < 1e-6);

    const std::string text = vanishing_gradients_text(result);
    CHECK(text.find("(vanished)") != std::string::npos);
    const std::string svg = vanishing_gradients_svg(result);
    CHECK(svg.rfind("<svg", 0) == 0);
    size_t polylines = 0;
    for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++polylines;
    CHECK(polylines == 8);  // 4 nets x 2 panels
}

TEST_CASE("vanishing_gradients: with He init the plain ReLU net keeps its gradient at initialisation") {
    VanishingOptions options;
    options.init = "he";
    options.steps = 0;
    const VanishingResult result = vanishing_gradients(options);
    CHECK(result.variants[0].first_to_last_init < 1e-6);   // sigmoid still vanishes
    CHECK(result.variants[1].first_to_last_init > 1e-1);   // relu with He init does not
    CHECK(result.variants[1].first_to_last_init < 1e1);
}
