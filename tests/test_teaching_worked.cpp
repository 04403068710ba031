// worked_examples (apps/teaching/worked_examples.h): seed 004's numbers, with
// its Adam example corrected (the first Adam step is lr sign(g): 1 -> 1.1).
#include <doctest/doctest.h>

#include <cmath>

#include "apps/teaching/worked_examples.h"

using namespace kiln::teaching;

TEST_CASE("worked_examples: batch norm, SGD, RMSProp and Adam as the tutorial shows them") {
    const WorkedExamples e = worked_examples();
    const std::vector<double> seed{1.09, -0.22, -1.53, 0.65};  // seed 004, two decimals
    REQUIRE(e.batch_norm_output.size() == 4);
    for (size_t i = 0; i < 4; ++i) CHECK(e.batch_norm_output[i] == doctest::Approx(seed[i]).epsilon(0.01));
    CHECK(e.batch_norm_output[0] == doctest::Approx(1.25 / std::sqrt(1.3125 + 1e-5)).epsilon(1e-12));
    CHECK(e.batch_mean == doctest::Approx(0.75));
    CHECK(e.batch_variance == doctest::Approx(1.3125));
    CHECK(e.sgd_w == doctest::Approx(1.8).epsilon(1e-12));
    CHECK(e.rmsprop_v == doctest::Approx(6.4).epsilon(1e-12));
    CHECK(e.rmsprop_w == doctest::Approx(1 + 0.8 / (std::sqrt(6.4) + 1e-8)).epsilon(1e-12));
    CHECK(std::fabs(e.rmsprop_w - 1.316) < 5e-4);
    CHECK(e.adam_w == doctest::Approx(1.1).epsilon(1e-8));
}
