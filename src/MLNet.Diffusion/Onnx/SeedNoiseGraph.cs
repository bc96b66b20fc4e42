using System.Runtime.InteropServices;
using Onnx;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Onnx;

/// <summary>
/// <see cref="SeedNoise"/> as ONNX nodes: the same integer hash with uint32 Mul/BitwiseXor/BitShift, and the same
/// float32 operations in the same order, so ONNX Runtime computes x_T bit for bit as managed code does.
/// </summary>
internal static class SeedNoiseGraph
{
    /// <summary>
    /// Emits x_T for a batch: <paramref name="seeds"/> names an int64 [B, 1] value (seeds ≥ 0); the result is a float
    /// [B, channels, size, size] value.
    /// </summary>
    public static string Emit(OnnxGraph g, string seeds, int channels, int size)
    {
        var elements = channels * size * size;
        // Counters 2j (row 0) and 2j + 1 (row 1) for every element j: [2, elements].
        var counters = new uint[2 * elements];
        for (var j = 0; j < elements; j++)
        {
            counters[j] = (uint)(2 * j);
            counters[elements + j] = (uint)(2 * j) + 1;
        }

        var counterName = g.Initializer("noise.counters", TensorProto.Types.DataType.Uint32, MemoryMarshal.AsBytes(counters.AsSpan()), 2, elements);

        // The seed's 32-bit halves as [B, 1, 1].
        var wide = g.Node("Cast", [seeds], ("to", (long)TensorProto.Types.DataType.Uint64));
        var low = g.Node("Cast", [g.Node("BitwiseAnd", [wide, UInt64(g, 0xFFFFFFFF)])], ("to", (long)TensorProto.Types.DataType.Uint32));
        var high = g.Node("Cast", [g.Node("BitShift", [wide, UInt64(g, 32)], ("direction", "RIGHT"))], ("to", (long)TensorProto.Types.DataType.Uint32));
        var axis = g.Int64s(2);
        low = g.Node("Unsqueeze", [low, axis]);
        high = g.Node("Unsqueeze", [high, axis]);

        var words = Mix(g, g.Node("BitwiseXor", [Mix(g, g.Node("BitwiseXor", [Mix(g, counterName), low])), high]));
        var top = g.Node("BitShift", [words, g.UInt32Scalar(8)], ("direction", "RIGHT"));  // [B, 2, elements]
        var halves = g.Node("Split", [top, g.Int64s(1, 1)], 2, ("axis", 1L));
        var bits1 = halves[0];
        var bits2 = halves[1];

        // −2 ln u₁ with u₁·2²⁴ = n = m·2ᵉ.
        var n = g.Node("Cast", [g.Node("Add", [bits1, g.UInt32Scalar(1)])], ("to", (long)TensorProto.Types.DataType.Float));
        var thresholds = g.Constant([.. Enumerable.Range(1, 24).Select(k => (float)(1 << k))], 24);
        var reached = g.Node("Cast", [g.Node("GreaterOrEqual", [g.Node("Unsqueeze", [n, g.Int64s(-1)]), thresholds])], ("to", (long)TensorProto.Types.DataType.Float));
        var e = g.Node("ReduceSum", [reached, g.Int64s(-1)], ("keepdims", 0L));
        var inversePowers = g.Constant([.. Enumerable.Range(0, 25).Select(k => 1f / (1 << k))], 25);
        var m = g.Node("Mul", [n, g.Node("Gather", [inversePowers, g.Node("Cast", [e], ("to", (long)TensorProto.Types.DataType.Int64))])]);
        var one = g.Scalar(1);
        var s = g.Node("Div", [g.Node("Sub", [m, one]), g.Node("Add", [m, one])]);
        var p = Horner(g, SeedNoise.LogSeries, g.Node("Mul", [s, s]));
        var lnM = g.Node("Mul", [g.Node("Add", [s, s]), p]);
        var lnU = g.Node("Add", [lnM, g.Node("Mul", [g.Node("Sub", [e, g.Scalar(24)]), g.Scalar(SeedNoise.Ln2)])]);
        var r = g.Node("Sqrt", [g.Node("Mul", [lnU, g.Scalar(-2)])]);

        // cos(2π u₂) by quadrant.
        var quadrant = g.Node("Cast", [g.Node("BitShift", [bits2, g.UInt32Scalar(22)], ("direction", "RIGHT"))], ("to", (long)TensorProto.Types.DataType.Int64));
        var fraction = g.Node("Mul", [
            g.Node("Cast", [g.Node("BitwiseAnd", [bits2, g.UInt32Scalar(0x3FFFFF)])], ("to", (long)TensorProto.Types.DataType.Float)),
            g.Scalar(1f / (1 << 22))]);
        var phi = g.Node("Mul", [fraction, g.Scalar(SeedNoise.HalfPi)]);
        var phi2 = g.Node("Mul", [phi, phi]);
        var cos = Horner(g, SeedNoise.CosSeries, phi2);
        var sin = g.Node("Mul", [phi, Horner(g, SeedNoise.SinSeries, phi2)]);
        var v = g.Node("Add", [
            g.Node("Mul", [g.Node("Gather", [g.Constant(SeedNoise.CosOfQuadrant, 4), quadrant]), cos]),
            g.Node("Mul", [g.Node("Gather", [g.Constant(SeedNoise.SinOfQuadrant, 4), quadrant]), sin])]);
        var z = g.Node("Mul", [r, v]);  // [B, 1, elements]
        return g.Node("Reshape", [z, g.Int64s(-1, channels, size, size)]);
    }

    // x ⊕= x≫16; x ×= 0x7feb352d; x ⊕= x≫15; x ×= 0x846ca68b; x ⊕= x≫16 (uint32 arithmetic wraps).
    private static string Mix(OnnxGraph g, string x)
    {
        x = XorShift(g, x, 16);
        x = g.Node("Mul", [x, g.UInt32Scalar(0x7feb352d)]);
        x = XorShift(g, x, 15);
        x = g.Node("Mul", [x, g.UInt32Scalar(0x846ca68b)]);
        return XorShift(g, x, 16);
    }

    private static string XorShift(OnnxGraph g, string x, uint shift) =>
        g.Node("BitwiseXor", [x, g.Node("BitShift", [x, g.UInt32Scalar(shift)], ("direction", "RIGHT"))]);

    private static string Horner(OnnxGraph g, float[] coefficients, string x)
    {
        var p = g.Scalar(coefficients[0]);
        for (var i = 1; i < coefficients.Length; i++)
        {
            p = g.Node("Add", [g.Node("Mul", [p, x]), g.Scalar(coefficients[i])]);
        }

        return p;
    }

    private static string UInt64(OnnxGraph g, ulong value) =>
        g.Initializer($"noise.u64_{value}", TensorProto.Types.DataType.Uint64, MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
}
