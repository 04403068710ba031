#!/usr/bin/env python3
"""PyTorch CPU peer of bench_train_step: whole training steps and inference.

    bench/train_step.sh [--quick] [--repeat N] [--models resnet18,mobilenet_v2]

(runs this with Debian's /usr/bin/python3, which has python3-torch 1.13 and
torchvision 0.14). As driver (the default) it runs, for every model and mode,
kiln's bench_train_step and this script as a worker (--worker), each in its own
process so that each peak RSS (VmHWM, the peak resident set) is its own, interleaved
kiln / PyTorch so that a burst of load from other processes hits both alike,
and prints the table of ratios kiln / PyTorch.

Workloads (the same as bench_train_step): resnet18 and mobilenet_v2 at width
0.5, input 3x128x128, 4 classes; train = forward + cross-entropy + backward +
AdamW step (lr 1e-3, weight decay 0.01), batch 32; latency = eval, no grad,
batch 1; throughput = eval, no grad, batch 32. Three warm-up steps, then the
median step.

PyTorch variants (all with torch.set_num_threads = OMP_NUM_THREADS, oneDNN on):
  default   NCHW, glibc malloc, eager
  best      the fastest of NCHW and channels_last, each with glibc malloc and
            with jemalloc preloaded (if installed; marked +jemalloc), each run
            in its own process, and for inference TorchScript trace + freeze
            + optimize_for_inference (which folds batch norm into the
            convolutions and picks oneDNN's blocked layout) when that works;
            for batch-1 latency also each on one thread (marked +1thread);
            the default itself when it ran faster than all of them (marked
            default: the machine's speed drifts between runs).
kiln runs once next to each PyTorch-best variant, on that variant's number
of threads, so both keep the best of as many runs (on a machine whose speed
drifts, more runs mean a luckier best) and a one-thread PyTorch latency
meets a one-thread kiln one too (the table then names kiln's thread count).
"""
import argparse
import csv
import io
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
WARMUP = 3
MODES = ("train", "latency", "throughput")


# ---- the nets: the same structure as kiln's zoo at width 0.5 ----

def make_divisible(v, divisor=8):  # torchvision's _make_divisible
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def resnet18(torch, width, classes):
    """torchvision's ResNet-18 with every channel count scaled by make_divisible(c * width), as kiln's zoo."""
    from torchvision.models.resnet import BasicBlock
    nn = torch.nn

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            planes = [make_divisible(c * width) for c in (64, 128, 256, 512)]
            self.inplanes = planes[0]
            self.conv1 = nn.Conv2d(3, planes[0], 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(planes[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = self._layer(planes[0], 1)
            self.layer2 = self._layer(planes[1], 2)
            self.layer3 = self._layer(planes[2], 2)
            self.layer4 = self._layer(planes[3], 2)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(planes[3], classes)

        def _layer(self, planes, stride):
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                           nn.BatchNorm2d(planes))
            blocks = [BasicBlock(self.inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
            self.inplanes = planes
            return nn.Sequential(*blocks)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


def make_model(torch, name, width, classes):
    if name == "resnet18":
        return resnet18(torch, width, classes)
    import torchvision
    return torchvision.models.mobilenet_v2(width_mult=width, num_classes=classes)


# ---- worker: one model, one mode, one variant, in this process ----

def peak_rss_mib():
    """VmHWM of this process (as bench_train_step): ru_maxrss would include the high-water mark of the
    process that forked this one, which Linux carries across exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(args):
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.backends.mkldnn.enabled = True
    torch.manual_seed(1)
    batch = 1 if args.mode == "latency" else args.batch
    model = make_model(torch, args.model, args.width, args.classes)
    x = torch.randn(batch, 3, args.size, args.size)
    target = torch.arange(batch) % args.classes
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    x = x.contiguous(memory_format=memory_format)
    how = "channels_last" if args.channels_last else "nchw"
    if torch.get_num_threads() == 1 and os.environ.get("KILN_BENCH_ONE_THREAD"):
        how += "+1thread"
    if "jemalloc" in os.environ.get("LD_PRELOAD", ""):
        how += "+jemalloc"
    times = []
    if args.mode == "train":
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        for step in range(WARMUP + args.steps):
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), target)
            loss.backward()
            optimizer.step()
            if step >= WARMUP:
                times.append(time.perf_counter() - start)
    else:
        model.eval()
        run = model
        if args.script:
            try:
                with torch.no_grad():
                    run = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x)))
                how += "+jit"
            except Exception as error:  # an old or odd build: stay eager and say so
                print(f"optimize_for_inference failed ({error}); eager", file=sys.stderr)
        runs = args.steps * 10 if args.mode == "latency" else args.steps
        with torch.no_grad():
            for step in range(WARMUP + runs):
                start = time.perf_counter()
                run(x)
                if step >= WARMUP:
                    times.append(time.perf_counter() - start)
    step_s = statistics.median(times)
    rss = peak_rss_mib()
    value, unit = (step_s * 1e3, "ms") if args.mode == "latency" else (batch / step_s, "img/s")
    print(f"torch-{args.variant}:{how},{args.model},{args.mode},{value:.3f},{unit},{rss:.1f},{step_s * 1e3:.3f}")


# ---- driver ----

def run_line(command, env):
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    line = [l for l in output.splitlines() if "," in l][-1]
    who, model, mode, value, unit, rss, step_ms = line.split(",")
    return {"who": who, "value": float(value), "unit": unit, "rss": float(rss), "step_ms": float(step_ms)}


def better(a, b):
    if a is None:
        return b
    if a["unit"] == "ms":
        return a if a["value"] <= b["value"] else b
    return a if a["value"] >= b["value"] else b


def driver(args):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    threads = env.setdefault("OMP_NUM_THREADS", "2")
    # PyTorch's best: each layout with glibc's malloc and with jemalloc (when
    # installed; on the AVX2 machine of docs/benchmarks.md jemalloc made
    # mobilenet_v2's training slower), and for batch-1 latency each on one thread too
    best_envs = [env] + ([dict(env, LD_PRELOAD=JEMALLOC)] if os.path.exists(JEMALLOC) else [])
    one_thread_envs = [dict(e, OMP_NUM_THREADS="1", KILN_BENCH_ONE_THREAD="1") for e in best_envs]
    # torch is not imported here: the driver stays small (its children start as forks of it)
    probe = subprocess.run([sys.executable, "-c", "import torch, torchvision; print(torch.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"PyTorch/torchvision are NOT installed for {sys.executable}: nothing to compare with.\n"
              "(Debian: apt-get install -y python3-torch python3-torchvision)", file=sys.stderr)
        return 1
    version = probe.stdout.strip()
    common = ["--width", str(args.width), "--size", str(args.size), "--batch", str(args.batch),
              "--classes", str(args.classes), "--steps", str(args.steps)]
    me = [sys.executable, os.path.abspath(__file__), "--worker"] + common
    setting = (f"threads {threads} (OMP_WAIT_POLICY {env.get('OMP_WAIT_POLICY', 'unset')}), batch {args.batch}, "
               f"3x{args.size}x{args.size}, {args.classes} classes, width {args.width}; PyTorch {version}; jemalloc "
               f"{'tried' if len(best_envs) > 1 else 'not found (apt-get install libjemalloc2)'} for best; "
               f"{args.repeat} interleaved repeats, kiln run once per PyTorch-best variant; "
               f"load average {os.getloadavg()[0]:.1f}")
    print(setting)
    rows = []
    for model in args.models.split(","):
        for mode in MODES:
            kiln = default = best = before = None
            script = [] if mode == "train" else ["--script"]
            # a single image: waking a second thread for each op can cost more than it saves
            # (with OMP_WAIT_POLICY=passive), so PyTorch at its best may be one thread
            envs = best_envs + (one_thread_envs if mode == "latency" and threads != "1" else [])
            variants = [(layout, e) for e in envs for layout in ([], ["--channels-last"])]
            for _ in range(args.repeat):
                default = better(default, run_line(me + ["--model", model, "--mode", mode,
                                                         "--variant", "default"], env))
                # kiln runs as often as PyTorch's best variants, each next to one: on a
                # machine whose speed drifts, the best of 8 runs beats the best of 2 by luck
                for layout, variant_env in variants:
                    kiln_env = dict(env, OMP_NUM_THREADS=variant_env["OMP_NUM_THREADS"])
                    kiln = better(kiln, run_line([args.kiln, "--model", model, "--mode", mode] + common, kiln_env)
                                  | {"threads": kiln_env["OMP_NUM_THREADS"]})
                    if args.baseline:
                        before = better(before, run_line([args.baseline, "--model", model, "--mode", mode] + common,
                                                         env))
                    best = better(best, run_line(me + ["--model", model, "--mode", mode, "--variant", "best"]
                                                 + layout + script, variant_env))
            # the default is one of PyTorch's configurations too: on a drifting
            # machine it can beat every "best" variant in a run, and then it is the best
            if better(best, default) is default:
                best = dict(default, who="torch-best:default")
            rows.append((model, mode, kiln, default, best, before))
            was = f" (baseline {before['value']:.2f})" if before else ""
            print(f"  {model} {mode}: kiln {kiln['value']:.2f}{was} {kiln['unit']} ({kiln['threads']} threads), torch default "
                  f"{default['value']:.2f}, torch best ({best['who']}) {best['value']:.2f}  "
                  f"[peak RSS MiB: {kiln['rss']:.0f} / {default['rss']:.0f} / {best['rss']:.0f}]", flush=True)
    setting += f"; load average at the end {os.getloadavg()[0]:.1f}"
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}\n")
    baseline = "| baseline / best " if args.baseline else ""
    table = [f"| net | workload | kiln | PyTorch default | PyTorch best | kiln / default | kiln / best {baseline}| "
             "peak RSS MiB kiln / default / best | RSS kiln / best |",
             "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if args.baseline else "") + "---:|---:|"]
    for model, mode, kiln, default, best, before in rows:
        unit = kiln["unit"]
        name = {"train": "train img/s", "latency": "latency ms (batch 1)", "throughput": "infer img/s (batch 32)"}[mode]
        # ratio = kiln / PyTorch of the figure itself (for latency below 1 is better, for img/s above 1)
        kiln_threads = "" if kiln["threads"] == threads else f" ({kiln['threads']} thread{'s' * (kiln['threads'] != '1')})"
        table.append(f"| {model} | {name} | {kiln['value']:.2f}{kiln_threads} | {default['value']:.2f} | {best['value']:.2f} "
                     f"({best['who'].split(':')[1]}) | {kiln['value'] / default['value']:.2f} | "
                     f"{kiln['value'] / best['value']:.2f} | "
                     + (f"{before['value'] / best['value']:.2f} | " if before else "")
                     + f"{kiln['rss']:.0f} / {default['rss']:.0f} / "
                     f"{best['rss']:.0f} | {kiln['rss'] / best['rss']:.2f} |")
    print("\n".join(table))
    if args.record:
        record(setting, table)
    return 0


# The latest table, with the date and CPU, between these markers of
# docs/benchmarks.md (replaced by each run; the rounds' own write-ups stay as written).
BEGIN, END = "<!-- bench/train_step.sh: latest run (begin) -->", "<!-- bench/train_step.sh: latest run (end) -->"


def cpu_description():
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model}, {os.cpu_count()} logical CPUs, {simd}"


def record(setting, table):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path) as f:
        text = f.read()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = "\n".join([BEGIN, "", f"{when}, {cpu_description()}: `bench/train_step.sh` ({setting}).", ""]
                      + table + ["", END])
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        anchor = "## Training step and inference: kiln vs PyTorch (CPU)\n"
        at = text.index(anchor) + len(anchor) if anchor in text else len(text)
        text = text[:at] + "\n" + block + "\n" + text[at:]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    print(f"\nrecorded in {os.path.relpath(path, ROOT)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=os.path.join(ROOT, "build", "bench", "bench_train_step"))
    parser.add_argument("--baseline", help="a second bench_train_step (e.g. built from an older commit), "
                        "run interleaved with the first: a 'baseline / best' column")
    parser.add_argument("--models", default="resnet18,mobilenet_v2")
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="interleaved repeats; the best of each is kept")
    parser.add_argument("--quick", action="store_true", help="3 timed steps, one repeat (not recorded)")
    parser.add_argument("--no-record", dest="record", action="store_false",
                        help="print the table only (by default it also replaces the latest run in docs/benchmarks.md)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--channels-last", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--script", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeat, args.record = 3, 1, False
    if args.worker:
        worker(args)
        return 0
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())
