// The op case table on the emu backend under three schedules (forward,
// reverse and seeded-random resumption of a block's threads): a kernel with a
// race gives schedule-dependent results, which the comparison with cpu catches.
#include <doctest/doctest.h>

#include "kernels/emu/simt.h"
#include "tests/support/device_check.h"

using namespace kiln;

TEST_CASE("emu matches cpu on every op case whose ops have CUDA kernels, under three schedules") {
    testing::DeviceCaseReport report;
    for (auto schedule : {simt::Schedule::forward, simt::Schedule::reverse, simt::Schedule::random}) {
        simt::ScheduleGuard guard(schedule, 2026);
        report = testing::check_op_cases_on(Device::emu(), std::string(simt::schedule_name(schedule)) + " schedule");
    }
    for (const std::string& op : testing::foundation_ops()) {
        CAPTURE(op);
        CHECK(report.ported.count(op) == 1);
    }
    std::string not_yet;
    for (const std::string& op : report.missing) not_yet += " " + op;
    MESSAGE(report.ported.size(), " ops run on emu; without CUDA kernels yet:", not_yet);
}
