#!/usr/bin/env python3
"""PyTorch CPU peer of bench_conv: the same conv layers, batch and thread count.

    bench/conv.sh            (runs this with Debian's /usr/bin/python3, which has python3-torch)

Takes the layer list from kiln's bench_conv (--list), then for each layer in
turn runs bench_conv on it and times torch.nn.functional.conv2d forward (under
no_grad) and backward (one backward() through the conv, computing dx and dw,
.grad cleared first) on the same shape, and prints both with the speed ratio
kiln / PyTorch = PyTorch time / kiln time (above 1: kiln is faster). kiln and
PyTorch alternate layer by layer, so a burst of load from other processes hits
both alike. Without torch it says so and prints kiln's numbers alone.
"""
import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import time


def median_seconds(fn, min_runs, budget):
    fn()  # warm-up
    times = []
    while len(times) < min_runs or (sum(times) < budget and len(times) < 200):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_torch(torch, row, threads, min_runs, budget):
    F = torch.nn.functional
    batch, cin, size, cout = int(row["batch"]), int(row["in_channels"]), int(row["size"]), int(row["out_channels"])
    k, stride, pad, groups = int(row["kernel"]), int(row["stride"]), int(row["padding"]), int(row["groups"])
    x = torch.randn(batch, cin, size, size, requires_grad=True)
    w = (torch.randn(cout, cin // groups, k, k) * 0.1).requires_grad_(True)

    def forward():
        with torch.no_grad():
            F.conv2d(x, w, None, stride, pad, 1, groups)

    forward_s = median_seconds(forward, min_runs, budget)
    y = F.conv2d(x, w, None, stride, pad, 1, groups)
    dy = torch.randn_like(y)

    def backward():
        x.grad = None
        w.grad = None
        y.backward(dy, retain_graph=True)

    backward_s = median_seconds(backward, min_runs, budget)
    return forward_s, backward_s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.path.join(here, "..", "..", "build", "bench", "bench_conv"),
                        help="the bench_conv binary")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="fewer runs per layer")
    parser.add_argument("--width", default="1", help="channel width multiplier of the layers (0.5: bench/train_step.sh's nets)")
    parser.add_argument("--only", default="", help="only the layers whose name starts with this (r18, mv2)")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    min_runs, budget = (3, 0.05) if args.quick else (7, 0.3)

    quick = ["--quick"] if args.quick else []

    def kiln(*extra):
        command = [args.kiln, "--csv", "--batch", str(args.batch), "--width", args.width] + quick + list(extra)
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        lines = output.splitlines()
        header = [line.lstrip("# ") for line in lines if line.startswith("#")]
        return header, list(csv.DictReader(io.StringIO("\n".join(l for l in lines if not l.startswith("#")))))

    header, layers = kiln("--list")
    print(" ".join(header))
    try:
        import torch
    except ImportError:
        torch = None
        print(f"\nPyTorch is NOT installed for {sys.executable}: no ratios, kiln's numbers only.\n"
              "(Debian: apt-get install -y python3-torch, then run with /usr/bin/python3.)\n")
    if torch is not None:
        torch.set_num_threads(threads)
        print(f"PyTorch {torch.__version__} (mkldnn {'on' if torch.backends.mkldnn.is_available() else 'off'}), "
              f"{torch.get_num_threads()} threads\n")

    print(f"{'layer':<22} {'algorithm':<9} {'fwd GF/s':>9} {'torch':>7} {'ratio':>6}   "
          f"{'bwd GF/s':>9} {'torch':>7} {'ratio':>6}")
    forward_ratios, backward_ratios = [], []
    kiln_total = torch_total = 0.0
    for index, layer in enumerate(layers):
        if not layer["layer"].startswith(args.only):
            continue
        row = kiln("--layer", str(index), "--no-peak")[1][0]
        gflop = float(row["gflop_forward"])
        kiln_forward, kiln_backward = float(row["forward_ms"]) / 1e3, float(row["backward_ms"]) / 1e3
        line = (f"{row['layer']:<22} {row['algorithm']:<9} {gflop / kiln_forward:9.1f}")
        if torch is None:
            print(f"{line} {'-':>7} {'-':>6}   {2 * gflop / kiln_backward:9.1f} {'-':>7} {'-':>6}")
            continue
        torch_forward, torch_backward = time_torch(torch, layer, threads, min_runs, budget)
        forward_ratios.append(torch_forward / kiln_forward)
        backward_ratios.append(torch_backward / kiln_backward)
        kiln_total += kiln_forward + kiln_backward
        torch_total += torch_forward + torch_backward
        print(f"{line} {gflop / torch_forward:7.1f} {forward_ratios[-1]:6.2f}   "
              f"{2 * gflop / kiln_backward:9.1f} {2 * gflop / torch_backward:7.1f} {backward_ratios[-1]:6.2f}",
              flush=True)
    if forward_ratios:
        geomean = lambda v: statistics.geometric_mean(v)
        print(f"\nratio = kiln speed / PyTorch speed (above 1: kiln faster). geometric mean: forward "
              f"{geomean(forward_ratios):.2f}, backward {geomean(backward_ratios):.2f}; "
              f"sum of all layer times: kiln {kiln_total * 1e3:.1f} ms, PyTorch {torch_total * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
