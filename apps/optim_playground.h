#pragma once
#include <string>
#include <vector>

namespace kiln::apps {

struct PlaygroundOptions {
    std::string function = "rosenbrock";  // rosenbrock, beale, bowl, saddle
    std::vector<std::string> optimizers;  // "kind[:key=value,...]"; empty: a default set for the function
    int steps = 0;                        // 0: the function's default
    double condition = 10;                // bowl's condition number kappa
    std::vector<double> start;            // empty: the function's default start
    std::string csv_path;                 // "-" or empty: stdout
    std::string svg_path;                 // empty: no picture
};

// Runs each optimizer from the start point on a 2-D test function, writes the
// trajectories as CSV (optimizer, step, x, y, f, lr) and optionally an SVG of
// the contours with every path in its own colour. Returns 0.
int run_optim_playground(const PlaygroundOptions& options);

}  // namespace kiln::apps
