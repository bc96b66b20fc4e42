#!/usr/bin/python3
"""Trains the PyTorch reference UNet on Fashion-MNIST exactly as `mlnet-diffusion train --data fashion-mnist --recipe short-run` does,
and writes the result in our model format, so `mlnet-diffusion generate/eval/info --model` take the model PyTorch
trained.

The short-run recipe (TrainingRecipes.ShortRun, `train --recipe short-run`): the small preset (28 px, gray), batch 64, AdamW (lr 1e-3, no weight
decay), linear warm-up over min(100, steps) steps then a cosine decay, gradient norm clipped to 1, EMA 0.999 with
warm-up, linear β schedule of 1000 steps, ε prediction, unconditional unless --class-conditional (then 10 % label
dropout). The same seed gives the same initial weights, data order, timesteps and noise as our trainer.

    /usr/bin/python3 bench/reference/train_reference.py --steps 1000 --out out/pytorch.zip

Run it with Debian's interpreter, which has python3-torch (a pyenv python3 first on PATH usually has no torch).
"""

import argparse
import gzip
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffusion  # noqa: E402
from unet import PRESET_NAMES, UNet2D, UNetConfig, parameter_count  # noqa: E402

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file (plain or .gz) of unsigned bytes: the magic 0x00 0x00 0x08 <dims>, big-endian sizes, the data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"'{path}' is not an IDX file of unsigned bytes")
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    body = data[4 + 4 * dims:]
    count = 1
    for size in shape:
        count *= size
    if len(body) != count:
        raise ValueError(f"'{path}' holds {len(body)} bytes of data, but its header promises {count}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(shape)


def load_fashion_mnist(folder, limit=None):
    """FashionMnist.LoadTrain: images [N, 1, 28, 28] scaled to [−1, 1] (x / 127.5 − 1) and int64 labels."""
    images_path = os.path.join(folder, "train-images-idx3-ubyte.gz")
    labels_path = os.path.join(folder, "train-labels-idx1-ubyte.gz")
    for path in (images_path, labels_path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"Fashion-MNIST file '{path}' was not found: install Debian's "
                                    "dataset-fashion-mnist (./build.sh does), or pass --data-dir")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dim() != 3 or labels.dim() != 1 or images.size(0) != labels.size(0):
        raise ValueError(f"Fashion-MNIST files disagree: images {list(images.shape)}, labels {list(labels.shape)}")
    count = images.size(0) if limit is None else min(limit, images.size(0))
    pixels = images[:count].unsqueeze(1).to(torch.float32) / 127.5 - 1
    return pixels.contiguous(), labels[:count].to(torch.int64)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the model .zip (our format)")
    parser.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000, as the CLI)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--model", default="small", choices=PRESET_NAMES, help="UNet preset")
    parser.add_argument("--schedule", default="linear", choices=["linear", "cosine"])
    parser.add_argument("--prediction", default="epsilon", choices=sorted(diffusion.PREDICTION_TYPES))
    parser.add_argument("--class-conditional", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="use only the first N images")
    parser.add_argument("--data-dir", default=FASHION_MNIST, help="the folder with Fashion-MNIST's IDX files")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: the core count)")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    if not args.lr > 0:
        parser.error(f"--lr must be > 0, not {args.lr}")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be at least 1, not {args.limit}")
    if not 0 <= args.seed < (1 << 64):
        parser.error(f"--seed must be in [0, 2^64), not {args.seed}")
    return args


def train(args, log=print):
    torch.set_num_threads(args.threads)
    images, labels = load_fashion_mnist(args.data_dir, args.limit)
    config = UNetConfig.preset(args.model, images.size(-1), images.size(1), 10 if args.class_conditional else None)
    schedule = diffusion.NoiseSchedule(args.schedule, 1000)

    # DdpmTrainer: ManualSeed(seed), then the model (its initial weights come from the default generator).
    torch.manual_seed(args.seed)
    model = UNet2D(config)
    trainer = diffusion.Trainer(model, schedule, args.prediction, learning_rate=args.lr, weight_decay=0.0, clip=1.0,
                                ema_decay=0.999, ema_warmup=True, label_dropout=0.1,
                                generator=diffusion.train_generator(args.seed))
    order = diffusion.DataOrder(images.size(0), args.seed)
    warmup = min(100, args.steps)
    log(f"training the PyTorch reference on {images.size(0)} images ({images.size(1)}×{images.size(2)}×{images.size(3)}), "
        f"{config.image_size} px {args.model} UNet, {parameter_count(model):,} parameters, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads")

    model.train()
    losses = []
    start = time.perf_counter()
    every = max(1, args.steps // 20)
    for step in range(args.steps):
        trainer.set_learning_rate(diffusion.learning_rate_at(step, args.steps, args.lr, warmup, cosine=True))
        index = torch.tensor(order.next(args.batch_size), dtype=torch.int64)
        batch_labels = labels.index_select(0, index) if args.class_conditional else None
        loss = trainer.step(images.index_select(0, index), batch_labels)
        if loss != loss or loss in (float("inf"), float("-inf")):
            raise RuntimeError(f"training diverged at step {step + 1}: the loss is {loss}")
        losses.append(loss)
        done = step + 1
        if done % every == 0 or done == args.steps:
            elapsed = time.perf_counter() - start
            recent = losses[-every:]
            log(f"step {done}/{args.steps}  loss {sum(recent) / len(recent):.4f}  "
                f"{done * args.batch_size / elapsed:.1f} images/s")

    seconds = time.perf_counter() - start
    images_per_second = args.steps * args.batch_size / seconds
    last = losses[-100:]
    training = {"Steps": args.steps, "BatchSize": args.batch_size, "FinalLoss": sum(last) / len(last),
                "Seed": args.seed, "Seconds": seconds, "ImagesPerSecond": images_per_second}
    diffusion.save_model_zip(args.out, config, schedule, args.prediction, trainer.ema.shadow, model.state_dict(),
                             training)
    log(f"trained {args.steps} steps in {seconds:.0f} s ({images_per_second:.1f} images/s); wrote {args.out}")
    return losses


if __name__ == "__main__":
    try:
        train(parse_args())
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
