"""PyTorch peer of bench/train-speed.ts: training samples/s of lowbit's zoo networks in PyTorch.

Same networks (larq-intro-cnn, binary-mlp and their float twins), same batch (64), Adam (lr 1e-3,
eps 1e-7), sparse cross-entropy, ste_sign on inputs and kernels with the clipped straight-through
gradient, weight clip to [-1, 1] after each step, BatchNorm without scale (momentum 0.01 = Keras
0.99, eps 1e-3); CPU, one thread. torch is not a lowbit dependency: this script is run by
bench/train-speed.ts when /usr/bin/python3 can import torch.

Usage: python3 bench/train-speed-peer.py NETWORK FLOAT(0|1) BATCH WARMUP STEPS SEED
Prints one JSON object: per-step wall and CPU milliseconds.
"""
import json
import os
import sys
import time

# One thread for real: torch.set_num_threads(1) does not stop OpenBLAS/OpenMP helper threads from
# spinning, which showed as process CPU time above wall-clock time. Set before torch loads them.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


class SteSign(torch.autograd.Function):
    """sign(x) with sign(0) = 1; gradient dy * 1{|x| <= 1} (Larq's ste_sign)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy * (x.abs() <= 1).to(dy.dtype)


ste_sign = SteSign.apply


class QuantConv2d(nn.Conv2d):
    def __init__(self, cin, cout, binary, quantize_input):
        super().__init__(cin, cout, 3, bias=False)
        nn.init.xavier_uniform_(self.weight)
        self.binary = binary
        self.quantize_input = quantize_input

    def forward(self, x):
        if not self.binary:
            return F.conv2d(x, self.weight)
        if self.quantize_input:
            x = ste_sign(x)
        return F.conv2d(x, ste_sign(self.weight))


class QuantLinear(nn.Linear):
    def __init__(self, cin, cout, binary, quantize_input):
        super().__init__(cin, cout, bias=False)
        nn.init.xavier_uniform_(self.weight)
        self.binary = binary
        self.quantize_input = quantize_input

    def forward(self, x):
        if not self.binary:
            return F.linear(x, self.weight)
        if self.quantize_input:
            x = ste_sign(x)
        return F.linear(x, ste_sign(self.weight))


def bn(n, dims):
    layer = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(n, eps=1e-3, momentum=0.01)
    layer.weight.requires_grad_(False)  # scale=False: gamma fixed at 1
    return layer


def larq_intro_cnn(binary):
    return nn.Sequential(
        QuantConv2d(1, 32, binary, False), nn.MaxPool2d(2), bn(32, 2),
        QuantConv2d(32, 64, binary, True), nn.MaxPool2d(2), bn(64, 2),
        QuantConv2d(64, 64, binary, True), bn(64, 2),
        nn.Flatten(),
        QuantLinear(576, 64, binary, True), bn(64, 1),
        QuantLinear(64, 10, binary, True), bn(10, 1),
    )


def binary_mlp(binary):
    return nn.Sequential(
        nn.Flatten(),
        QuantLinear(784, 1024, binary, False), bn(1024, 1),
        QuantLinear(1024, 1024, binary, True), bn(1024, 1),
        QuantLinear(1024, 10, binary, True), bn(10, 1),
    )


def main():
    name, float_twin, batch, warmup, steps, seed = sys.argv[1:7]
    binary = float_twin == "0"
    batch, warmup, steps = int(batch), int(warmup), int(steps)
    torch.manual_seed(int(seed))
    model = {"larq-intro-cnn": larq_intro_cnn, "binary-mlp": binary_mlp}[name](binary)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-7)
    clipped = [m.weight for m in model.modules() if isinstance(m, (QuantConv2d, QuantLinear)) and binary]
    x = torch.rand(batch, 1, 28, 28) * 2 - 1
    y = torch.arange(batch) % 10
    model.train()

    def step():
        opt.zero_grad()
        # log_softmax + nll = softmax output and sparse categorical cross-entropy
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for w in clipped:
                w.clamp_(-1, 1)
        return loss.item()

    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "wallMs": wall, "cpuMs": cpu}))


if __name__ == "__main__":
    main()
