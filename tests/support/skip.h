#pragma once
// KILN_SKIP(reason): ends the running test case as skipped. It prints
// "[skipped] <reason>", which tests/CMakeLists.txt tells CTest to report as a
// skip (SKIP_REGULAR_EXPRESSION), so a test that needs a GPU, a dataset or
// Python torch is listed by name as skipped, never as passed.
#include <cstdio>
#include <string>

#define KILN_SKIP(reason)                                                    \
    do {                                                                     \
        std::printf("[skipped] %s\n", std::string(reason).c_str());         \
        std::fflush(stdout);                                                 \
        return;                                                              \
    } while (0)
