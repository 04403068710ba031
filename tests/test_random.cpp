#include <doctest/doctest.h>

#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/common/philox.h"

using namespace kiln;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors") {
    // Random123 kat_vectors: philox4x32 10 rounds, counter 0, key 0
    const math::Philox4 zero = math::philox4x32_10(0, 0);
    CHECK(zero.v[0] == 0x6627e8d5u);
    CHECK(zero.v[1] == 0xe169c58du);
    CHECK(zero.v[2] == 0xbc57ac4cu);
    CHECK(zero.v[3] == 0x9b00dbd8u);
}

TEST_CASE("a stream's values depend only on seed and position") {
    Generator g1(5), g2(5);
    const Tensor a = Tensor::rand({10}, DType::float32, g1);
    const Tensor b = Tensor::rand({3}, DType::float32, g2);
    // element i of the first draw is value i of the stream, however it is split
    for (int i = 0; i < 3; ++i) CHECK(a.to_vector()[size_t(i)] == b.to_vector()[size_t(i)]);
    Generator g3(6);
    CHECK(Tensor::rand({10}, DType::float32, g3).to_vector() != a.to_vector());
}
