// kiln optim: the optimizer playground. Each test function is written with
// kiln ops, so the gradient comes from autograd and the update from the same
// optimizer classes that train networks.
#include "apps/optim_playground.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "optim/optimizer.h"

namespace kiln::apps {

namespace {

struct TestFunction {
    std::string name;
    std::function<Tensor(const Tensor& x, const Tensor& y)> f;  // x, y: [1] float64
    double x_min, x_max, y_min, y_max;                            // the picture's window
    std::vector<double> start;
    std::vector<double> minimum;  // marked in the picture; empty when there is none
    int steps;
    std::vector<std::string> default_optimizers;  // tuned so every path is readable
};

TestFunction find_function(const std::string& name, double condition) {
    if (name == "rosenbrock")  // (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1) at the end of a curved valley
        return {name, [](const Tensor& x, const Tensor& y) { return pow(1.0 - x, 2) + 100.0 * pow(y - pow(x, 2), 2); },
                -2, 2, -1, 3, {-1.2, 1}, {1, 1}, 2000,
                {"sgd:lr=0.001", "sgd:lr=0.001,momentum=0.9", "rmsprop:lr=0.002", "adam:lr=0.02", "lion:lr=0.002"}};
    if (name == "beale")  // three squared terms; minimum at (3, 0.5), flat plateaus and steep walls
        return {name,
                [](const Tensor& x, const Tensor& y) {
                    return pow(1.5 - x + x * y, 2) + pow(2.25 - x + x * pow(y, 2), 2) + pow(2.625 - x + x * pow(y, 3), 2);
                },
                -4.5, 4.5, -4.5, 4.5, {1, 1.5}, {3, 0.5}, 1000,
                {"sgd:lr=0.001", "sgd:lr=0.001,momentum=0.9", "rmsprop:lr=0.01", "adam:lr=0.05", "lion:lr=0.01"}};
    if (name == "bowl")  // 0.5 (x^2 + kappa y^2): condition number kappa
        return {name, [condition](const Tensor& x, const Tensor& y) { return 0.5 * (pow(x, 2) + condition * pow(y, 2)); },
                -5, 5, -3, 3, {-4.5, 2}, {0, 0}, 100,
                {"sgd:lr=0.05", "sgd:lr=0.05,momentum=0.9", "rmsprop:lr=0.05", "adam:lr=0.2", "lion:lr=0.05"}};
    if (name == "saddle")  // x^2 - y^2: a saddle at 0; starting almost on the ridge
        return {name, [](const Tensor& x, const Tensor& y) { return pow(x, 2) - pow(y, 2); }, -3, 3, -3, 3, {-2.5, 1e-3}, {}, 60,
                {"sgd:lr=0.05", "sgd:lr=0.05,momentum=0.9", "rmsprop:lr=0.05", "adam:lr=0.05", "lion:lr=0.05"}};
    fail("optim: unknown function \"", name, "\" (known: rosenbrock, beale, bowl, saddle)");
}

// "adam:lr=0.05,beta1=0.8" -> ("adam", {lr: 0.05, beta1: 0.8})
std::pair<std::string, optim::Options> parse_optimizer(const std::string& spec) {
    const size_t colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    optim::Options options;
    if (colon != std::string::npos) {
        std::stringstream rest(spec.substr(colon + 1));
        std::string item;
        while (std::getline(rest, item, ',')) {
            const size_t equals = item.find('=');
            KILN_CHECK(equals != std::string::npos, "optim: \"", item, "\" in \"", spec, "\" is not key=value");
            char* end = nullptr;
            const double value = std::strtod(item.c_str() + equals + 1, &end);
            KILN_CHECK(end && *end == '\0' && equals + 1 < item.size(), "optim: \"", item.substr(equals + 1),
                       "\" in \"", spec, "\" is not a number");
            options[item.substr(0, equals)] = value;
        }
    }
    return {kind, options};
}

struct Point {
    double x, y, f, lr;
};

std::vector<Point> run_path(const TestFunction& function, const std::vector<double>& start, const std::string& kind,
                            const optim::Options& options, int steps) {
    Tensor p = Tensor::from_vector(start, {2}, DType::float64);
    p.set_requires_grad(true);
    auto optimizer = optim::make_optimizer(kind, {{{p}, {}}}, options);
    std::vector<Point> path;
    for (int step = 0; step <= steps; ++step) {
        const Tensor f = sum(function.f(p.narrow(0, 0, 1), p.narrow(0, 1, 1)));
        const std::vector<double> xy = p.to_vector();
        path.push_back({xy[0], xy[1], f.item(), optimizer->lr()});
        if (!std::isfinite(f.item()) || step == steps) break;  // diverged, or done
        optimizer->zero_grad();
        f.backward();
        optimizer->step();
    }
    return path;
}

double evaluate(const TestFunction& function, double x, double y) {
    NoGradGuard no_grad;
    const Tensor tx = Tensor::from_vector({x}, {1}, DType::float64), ty = Tensor::from_vector({y}, {1}, DType::float64);
    return function.f(tx, ty).item();
}

// Contour lines by marching squares over a grid, as one SVG path per level.
std::string contour_paths(const TestFunction& function, const std::function<std::string(double, double)>& to_svg) {
    constexpr int grid = 160;  // cells per side
    std::vector<double> values(static_cast<size_t>((grid + 1) * (grid + 1)));
    auto gx = [&](int i) { return function.x_min + (function.x_max - function.x_min) * i / grid; };
    auto gy = [&](int j) { return function.y_min + (function.y_max - function.y_min) * j / grid; };
    for (int j = 0; j <= grid; ++j)
        for (int i = 0; i <= grid; ++i) values[size_t(j * (grid + 1) + i)] = evaluate(function, gx(i), gy(j));
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    std::ostringstream svg;
    // Levels at quantiles of the values in the window, denser near the minimum.
    for (double q : {0.0005, 0.002, 0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}) {
        const double level = sorted[size_t(q * double(sorted.size() - 1))];
        svg << "<path fill=\"none\" stroke=\"#b8b8b8\" stroke-width=\"0.8\" d=\"";
        for (int j = 0; j < grid; ++j) {
            for (int i = 0; i < grid; ++i) {
                // corners counter-clockwise; an edge crossing is interpolated linearly
                const double corner[4] = {values[size_t(j * (grid + 1) + i)], values[size_t(j * (grid + 1) + i + 1)],
                                          values[size_t((j + 1) * (grid + 1) + i + 1)],
                                          values[size_t((j + 1) * (grid + 1) + i)]};
                const int ci[4] = {i, i + 1, i + 1, i}, cj[4] = {j, j, j + 1, j + 1};
                std::vector<std::pair<double, double>> crossings;
                for (int e = 0; e < 4; ++e) {
                    const double a = corner[e], b = corner[(e + 1) % 4];
                    if ((a < level) == (b < level)) continue;
                    const double t = (level - a) / (b - a);
                    crossings.push_back({gx(ci[e]) + t * (gx(ci[(e + 1) % 4]) - gx(ci[e])),
                                         gy(cj[e]) + t * (gy(cj[(e + 1) % 4]) - gy(cj[e]))});
                }
                for (size_t k = 0; k + 1 < crossings.size(); k += 2)
                    svg << 'M' << to_svg(crossings[k].first, crossings[k].second) << 'L'
                        << to_svg(crossings[k + 1].first, crossings[k + 1].second);
            }
        }
        svg << "\"/>\n";
    }
    return svg.str();
}

void write_svg(const std::string& path_name, const TestFunction& function,
               const std::vector<std::pair<std::string, std::vector<Point>>>& paths) {
    constexpr double width = 720, height = 560, margin = 20, legend = 230;
    const double plot_w = width - 2 * margin - legend, plot_h = height - 2 * margin;
    auto pixel_x = [&](double x) { return margin + (x - function.x_min) / (function.x_max - function.x_min) * plot_w; };
    auto pixel_y = [&](double y) { return margin + (function.y_max - y) / (function.y_max - function.y_min) * plot_h; };
    auto to_svg = [&](double x, double y) {
        std::ostringstream out;
        out.precision(5);
        out << pixel_x(x) << ',' << pixel_y(y);
        return out.str();
    };
    const char* colours[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"};
    std::ofstream svg(path_name);
    KILN_CHECK(svg, "optim: cannot write ", path_name);
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<clipPath id=\"plot\"><rect x=\"" << margin << "\" y=\"" << margin << "\" width=\"" << plot_w
        << "\" height=\"" << plot_h << "\"/></clipPath>\n<g clip-path=\"url(#plot)\">\n"
        << contour_paths(function, to_svg);
    for (size_t k = 0; k < paths.size(); ++k) {
        svg << "<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"" << colours[k % 7] << "\" points=\"";
        for (const Point& p : paths[k].second)
            if (std::isfinite(p.f)) svg << to_svg(p.x, p.y) << ' ';
        svg << "\"/>\n";
    }
    svg << "</g>\n<rect x=\"" << margin << "\" y=\"" << margin << "\" width=\"" << plot_w << "\" height=\"" << plot_h
        << "\" fill=\"none\" stroke=\"black\"/>\n";
    const Point& start = paths[0].second[0];
    svg << "<circle r=\"4\" fill=\"black\" cx=\"" << pixel_x(start.x) << "\" cy=\"" << pixel_y(start.y) << "\"/>\n";
    if (!function.minimum.empty())  // a cross at the minimum
        svg << "<path stroke=\"black\" stroke-width=\"2\" d=\"M" << pixel_x(function.minimum[0]) - 6 << ','
            << pixel_y(function.minimum[1]) - 6 << "l12,12m0,-12l-12,12\"/>\n";
    for (size_t k = 0; k < paths.size(); ++k) {
        const double y = margin + 16 + 18 * double(k);
        svg << "<line x1=\"" << width - legend << "\" x2=\"" << width - legend + 20 << "\" y1=\"" << y - 4
            << "\" y2=\"" << y - 4 << "\" stroke-width=\"3\" stroke=\"" << colours[k % 7] << "\"/><text x=\""
            << width - legend + 26 << "\" y=\"" << y << "\">" << paths[k].first << "</text>\n";
    }
    svg << "<text x=\"" << margin << "\" y=\"" << height - 4 << "\">" << function.name << ", "
        << paths[0].second.size() - 1 << " steps from (" << start.x << ", " << start.y << ")</text>\n</svg>\n";
}

}  // namespace

int run_optim_playground(const PlaygroundOptions& options) {
    const TestFunction function = find_function(options.function, options.condition);
    const std::vector<double> start = options.start.empty() ? function.start : options.start;
    KILN_CHECK(start.size() == 2, "optim: --start needs two numbers, got ", start.size());
    const std::vector<std::string> specs = options.optimizers.empty() ? function.default_optimizers : options.optimizers;
    std::vector<std::pair<std::string, std::vector<Point>>> paths;
    for (const std::string& spec : specs) {
        const auto [kind, optimizer_options] = parse_optimizer(spec);
        paths.push_back({spec, run_path(function, start, kind, optimizer_options, options.steps ? options.steps : function.steps)});
    }
    std::ofstream file;
    if (!options.csv_path.empty() && options.csv_path != "-") {
        file.open(options.csv_path);
        KILN_CHECK(file, "optim: cannot write ", options.csv_path);
    }
    std::ostream& csv = file.is_open() ? file : std::cout;
    csv.precision(10);
    csv << "optimizer,step,x,y,f,lr\n";
    for (const auto& [spec, path] : paths)
        for (size_t step = 0; step < path.size(); ++step)
            csv << '"' << spec << "\"," << step << ',' << path[step].x << ',' << path[step].y << ',' << path[step].f
                << ',' << path[step].lr << '\n';
    for (const auto& [spec, path] : paths) {
        const Point& last = path.back();
        std::fprintf(stderr, "%-34s %s after %zu steps at (%.4f, %.4f), f = %.3g\n", spec.c_str(),
                     std::isfinite(last.f) ? "ended" : "DIVERGED", path.size() - 1, last.x, last.y, last.f);
    }
    if (!options.svg_path.empty()) write_svg(options.svg_path, function, paths);
    return 0;
}

}  // namespace kiln::apps
