"""The digits example's model in PyTorch on one thread, for the time per epoch.

    pip install torch numpy
    python3 examples/digits/torch_digits.py           # or with an epoch count: … 5

Same data and split (`digits.bin`: the first 1 440 digits to train, the last 357 to test),
same architecture (3×3 convolutions 1→16 and 16→32, padded, each with ReLU and 2×2 max
pooling, then a dense layer 128→10), same initial weights (He-uniform from the same
SplitMix64 stream, biases zero), same shuffles and one-pixel shifts, plain SGD at rate 0.05
on batches of 16 for 40 epochs. Only the training loop is timed, as in the Rust example.

Run by hand, not by the tests or CI. Both print each epoch's mean loss and test accuracy on
standard error: they agree with the Rust example's to the last printed digit for the first
epochs and drift by rounding after (both end at 96.1%), an end-to-end check of the `conv!`
kernels against PyTorch's.
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
RATE = 0.05
BATCH = 16
SEED = 13
TEST_IMAGES = 357
MASK = (1 << 64) - 1


class Rng:
    """SplitMix64, as `Rng` in model.rs."""

    def __init__(self, state):
        self.state = state

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def initial(self, shape, fan_in):
        bound = np.sqrt(np.float32(6.0) / np.float32(fan_in), dtype=np.float32)
        units = np.array([self.next() >> 40 for _ in range(int(np.prod(shape)))], np.float32)
        values = (np.float32(2.0) * (units / np.float32(16777216.0)) - np.float32(1.0)) * bound
        return torch.from_numpy(values.astype(np.float32).reshape(shape))

    def permutation(self, count):
        order = list(range(count))
        for i in range(count - 1, 0, -1):
            j = self.next() % (i + 1)
            order[i], order[j] = order[j], order[i]
        return order


class Model(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.first = nn.Conv2d(1, 16, 3, padding=1)
        self.second = nn.Conv2d(16, 32, 3, padding=1)
        self.dense = nn.Linear(128, 10)
        with torch.no_grad():
            for layer, fan_in in [(self.first, 9), (self.second, 16 * 9), (self.dense, 128)]:
                layer.weight.copy_(rng.initial(tuple(layer.weight.shape), fan_in))
                layer.bias.zero_()

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.first(x)), 2)
        x = F.max_pool2d(F.relu(self.second(x)), 2)
        return self.dense(x.flatten(1))


def main():
    torch.set_num_threads(1)
    records = np.frombuffer((Path(__file__).parent / "digits.bin").read_bytes(), np.uint8)
    records = records.reshape(-1, 65)
    images = records[:, :64].astype(np.float32).reshape(-1, 8, 8) / np.float32(16.0)
    labels = records[:, 64].astype(np.int64)
    split = len(images) - TEST_IMAGES
    # Blank border of one pixel: a shift is a window of the padded image.
    padded = np.pad(images[:split], ((0, 0), (1, 1), (1, 1)))
    train_labels = torch.from_numpy(labels[:split])
    test_images = torch.from_numpy(images[split:]).unsqueeze(1)
    test_labels = torch.from_numpy(labels[split:])

    rng = Rng(SEED)
    model = Model(rng)
    optimiser = torch.optim.SGD(model.parameters(), lr=RATE)
    times = []
    for epoch in range(1, EPOCHS + 1):
        start = time.perf_counter()
        order = rng.permutation(split)
        losses = []
        for batch in range(0, split, BATCH):
            indices = order[batch : batch + BATCH]
            windows = []
            for i in indices:
                down, right = divmod(rng.next() % 9, 3)
                # As `shift` in model.rs: pixel (r, c) comes from (r + 1 − down, c + 1 − right).
                windows.append(padded[i, 2 - down : 10 - down, 2 - right : 10 - right])
            x = torch.from_numpy(np.stack(windows)).unsqueeze(1)
            loss = F.cross_entropy(model(x), train_labels[indices])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        times.append(time.perf_counter() - start)
        with torch.no_grad():
            accuracy = (model(test_images).argmax(1) == test_labels).float().mean().item()
        print(
            f"epoch {epoch:2}: loss {np.mean(losses):.3f}, test {100 * accuracy:.1f}%",
            file=sys.stderr,
        )
    print(
        f"test accuracy {100 * accuracy:.1f}% ({TEST_IMAGES} digits) after {EPOCHS} epochs, "
        f"{1000 * np.mean(times):.1f} ms per epoch (torch {torch.__version__}, one thread)"
    )


if __name__ == "__main__":
    main()
