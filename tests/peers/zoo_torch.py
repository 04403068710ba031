"""Peer for tests/test_zoo_torch.cpp: torchvision's side of the weight interop.

stdin: {"mode": "export" | "import", "model": NAME, "num_classes": N,
        "weights": PATH, "data": PATH, "seed": S}
export: builds torchvision.models.NAME(num_classes=N) seeded with S, gives its
        BatchNorm layers non-trivial statistics and affine parameters (so eval
        mode is really exercised), writes its state_dict to `weights`, and an
        input batch x [2, 3, 64, 64] and its eval-mode logits to `data`.
import: builds the same model, loads `weights` (a kiln checkpoint) with
        strict=True, reads x from `data` and writes the logits to `data` as
        "torch_logits" (next to what was there).
Both files are safetensors, written and read by the ~30 lines below (the
Python `safetensors` package is not needed; the format is simple).
"""
import json
import struct
import sys

import torch
import torchvision

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
TORCH_DTYPES = {name: dtype for dtype, name in DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        blob = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = TORCH_DTYPES[info["dtype"]]
        if end == begin:
            tensors[name] = torch.empty(info["shape"], dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(data[base + begin:base + end]), dtype=dtype).reshape(info["shape"])
    return tensors


torch.set_num_threads(1)  # tiny inputs; more threads only fight the C++ tests for the cores
spec = json.load(sys.stdin)
torch.manual_seed(spec["seed"])
model = getattr(torchvision.models, spec["model"])(num_classes=spec["num_classes"])

if spec["mode"] == "export":
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.num_batches_tracked.fill_(7)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(x)
    write_safetensors(spec["weights"], model.state_dict(), {"source": "torchvision " + torchvision.__version__})
    write_safetensors(spec["data"], {"input": x, "logits": logits})
else:
    model.load_state_dict(read_safetensors(spec["weights"]), strict=True)
    model.eval()
    data = read_safetensors(spec["data"])
    with torch.no_grad():
        data["torch_logits"] = model(data["input"])
    write_safetensors(spec["data"], data)
print(json.dumps({"ok": True, "torchvision": torchvision.__version__}))
