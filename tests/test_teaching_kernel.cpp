// kernel_walkthrough (apps/teaching/kernel_walkthrough.h): every SGEMM version
// matches the cpu, and each element of C is stored once, by the thread the
// documented tiling names.
#include <doctest/doctest.h>

#include "apps/teaching/kernel_walkthrough.h"

using namespace kiln::teaching;

TEST_CASE("kernel_walkthrough: every version matches the cpu, each element stored by its documented thread") {
    const WalkthroughResult r = kernel_walkthrough();  // C [6, 10]
    CHECK(r.passed);
    REQUIRE(r.versions.size() == 3);
    for (const VersionWalk& v : r.versions) {
        INFO(v.name);
        CHECK(v.float_error == 0);  // small integers: exact in float
        CHECK(v.spy_error == 0);
        CHECK(v.mapping_as_documented);
        CHECK(v.launches == 1);
        CHECK(v.threads_launched == 256);
    }
    CHECK(r.versions[0].threads_storing == 60);  // one thread per element
    CHECK(r.versions[1].threads_storing == 60);
    CHECK(r.versions[2].threads_storing == 6);   // 4x4 micro-tiles: ceil(6/4) x ceil(10/4)
    // register blocking: element (5, 9) is in thread (9 / 4, 5 / 4) = (2, 1)'s micro-tile.
    const GemmStore& s = r.versions[2].stores[5 * 10 + 9];
    CHECK(s.thread_x == 2);
    CHECK(s.thread_y == 1);
    CHECK(s.stores == 1);
}

TEST_CASE("kernel_walkthrough: several blocks") {
    WalkthroughOptions options;
    options.m = 20;
    options.n = 70;
    options.k = 3;
    const WalkthroughResult r = kernel_walkthrough(options);
    CHECK(r.passed);
    CHECK(r.versions[0].grid_x == 5);  // ceil(70 / 16)
    CHECK(r.versions[0].grid_y == 2);  // ceil(20 / 16)
    CHECK(r.versions[2].grid_x == 2);  // ceil(70 / 64)
    CHECK(r.versions[2].grid_y == 1);
    const GemmStore& s = r.versions[0].stores[19 * 70 + 69];  // naive: block (4, 1), thread (5, 3)
    CHECK(s.block_x == 4);
    CHECK(s.block_y == 1);
    CHECK(s.thread_x == 5);
    CHECK(s.thread_y == 3);
}
