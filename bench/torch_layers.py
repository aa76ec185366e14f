"""PyTorch's CPU convolutions on the suite's larger layers: the figures the performance
issue quoted, measured again on this machine beside the Rust suite.

    python3 bench/torch_layers.py [--threads 1] [--batch 1]    # pip install torch numpy

For each layer and pass (forward, dx, dw) it prints the median of repeated calls, in
microseconds, of `torch.ops.aten.convolution` and of `convolution_backward` asked for one
gradient at a time (the kernels autograd runs), in float32 on contiguous NCHW tensors, on
`--threads` threads (torch.set_num_threads; PyTorch's CPU convolutions run oneDNN). Each
pass runs for about a second after a warm-up. Run it right after
`cargo bench -p convsym-bench --bench kernels --features onednn` on an idle machine, so both
see the same machine.
"""

import argparse
import statistics
import time

import torch

# name, (input size per axis, kernel, stride, padding, cin, cout, groups, transposed,
# output_padding): the layers of bench/src/shapes.rs of real size.
LAYERS = [
    ("resnet-stem", ((224, 224), 7, 2, 3, 3, 64, 1, False, 0)),
    ("resnet-3x3", ((56, 56), 3, 1, 1, 64, 64, 1, False, 0)),
    ("resnet-1x1", ((56, 56), 1, 1, 0, 256, 64, 1, False, 0)),
    ("resnet-down", ((56, 56), 3, 2, 1, 128, 128, 1, False, 0)),
    ("mobilenet-dw", ((56, 56), 3, 1, 1, 144, 144, 144, False, 0)),
    ("speech-1d", ((8000,), 11, 1, 5, 32, 32, 1, False, 0)),
    ("dcgan-up", ((28, 28), 4, 2, 1, 64, 32, 1, True, 0)),
    ("upsample-1d", ((2000,), 8, 4, 2, 16, 8, 1, True, 0)),
]


def median_us(call, seconds=1.0):
    for _ in range(3):
        call()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def measure(layer, batch):
    size, k, stride, pad, cin, cout, groups, transposed, output_padding = layer
    rank = len(size)
    x = torch.randint(-2, 3, (batch, cin, *size)).float()
    if transposed:
        w = torch.randint(-2, 3, (cin, cout // groups, *[k] * rank)).float()
    else:
        w = torch.randint(-2, 3, (cout, cin // groups, *[k] * rank)).float()
    args = dict(
        bias=None,
        stride=[stride] * rank,
        padding=[pad] * rank,
        dilation=[1] * rank,
        transposed=transposed,
        output_padding=[output_padding] * rank,
        groups=groups,
    )
    z = torch.ops.aten.convolution(x, w, **args)
    dz = torch.randint(-2, 3, z.shape).float()
    backward = dict(args)
    del backward["bias"]

    def grad(mask):
        return lambda: torch.ops.aten.convolution_backward(
            dz, x, w, None, **backward, output_mask=mask
        )

    return [
        median_us(lambda: torch.ops.aten.convolution(x, w, **args)),
        median_us(grad([True, False, False])),
        median_us(grad([False, True, False])),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {options.batch}")
    print("| layer | forward µs | dx µs | dw µs |")
    print("|---|---:|---:|---:|")
    with torch.no_grad():
        for name, layer in LAYERS:
            forward, dx, dw = measure(layer, options.batch)
            print(f"| {name} | {forward:,.0f} | {dx:,.0f} | {dw:,.0f} |".replace(",", " "))


if __name__ == "__main__":
    main()
