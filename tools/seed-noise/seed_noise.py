#!/usr/bin/env python3
"""x_T of an MLNet.Diffusion image in NumPy: the counter-based function documented on SeedNoise (C#) and computed by the
ONNX generator graph, written out independently from its documentation, so any Python program can reproduce the
starting noise of a seed without .NET or ONNX Runtime.

    python3 seed_noise.py SEED ELEMENTS   # prints the float32 bit patterns (hex), one per line

Every float operation is a single IEEE 754 float32 +, -, *, / or sqrt in the documented order, so the bits equal the
C# and ONNX Runtime results (test/MLNet.Diffusion.Tests/Onnx/SeedNoiseTests.cs runs this script and compares).
"""
import math
import sys

import numpy as np

F = np.float32


def mix(x):
    """lowbias32 (C. Wellons): a bijective 32-bit hash; uint32 arithmetic wraps."""
    x = np.uint32(x)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x = np.uint32(x * np.uint32(0x7FEB352D))
        x ^= x >> np.uint32(15)
        x = np.uint32(x * np.uint32(0x846CA68B))
        x ^= x >> np.uint32(16)
    return x


def horner(coefficients, x):
    p = F(coefficients[0])
    for c in coefficients[1:]:
        p = F(F(p * x) + F(c))
    return p


LOG_SERIES = [F(1) / F(k) for k in (15, 13, 11, 9, 7, 5, 3, 1)]
COS_SERIES = [F((1 if k % 2 == 0 else -1) / math.factorial(2 * k)) for k in range(7, -1, -1)]
SIN_SERIES = [F((1 if k % 2 == 0 else -1) / math.factorial(2 * k + 1)) for k in range(7, -1, -1)]
COS_OF_QUADRANT = [F(1), F(0), F(-1), F(0)]
SIN_OF_QUADRANT = [F(0), F(-1), F(0), F(1)]
LN2 = F(0.6931472)
HALF_PI = F(1.5707964)


def normal(bits1, bits2):
    n = F(bits1 + 1)
    e = sum(1 for k in range(1, 25) if n >= F(1 << k))
    m = F(n * F(F(1) / F(1 << e)))
    s = F(F(m - F(1)) / F(m + F(1)))
    p = horner(LOG_SERIES, F(s * s))
    ln_u = F(F(F(s + s) * p) + F(F(F(e) - F(24)) * LN2))
    r = F(np.sqrt(F(ln_u * F(-2))))
    quadrant = bits2 >> 22
    phi = F(F(F(bits2 & 0x3FFFFF) * F(F(1) / F(1 << 22))) * HALF_PI)
    phi2 = F(phi * phi)
    cos = horner(COS_SERIES, phi2)
    sin = F(phi * horner(SIN_SERIES, phi2))
    v = F(F(COS_OF_QUADRANT[quadrant] * cos) + F(SIN_OF_QUADRANT[quadrant] * sin))
    return F(r * v)


def seed_noise(seed, elements):
    lo, hi = np.uint32(seed & 0xFFFFFFFF), np.uint32(seed >> 32)
    word = lambda c: int(mix(mix(mix(np.uint32(c)) ^ lo) ^ hi))
    return np.array([normal(word(2 * j) >> 8, word(2 * j + 1) >> 8) for j in range(elements)], dtype=np.float32)


if __name__ == "__main__":
    values = seed_noise(int(sys.argv[1]), int(sys.argv[2]))
    print("\n".join(f"{int(b):08x}" for b in values.view(np.uint32)))
