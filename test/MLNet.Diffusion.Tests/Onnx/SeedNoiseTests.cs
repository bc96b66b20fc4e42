using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Diffusion.Onnx;
using Onnx;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Tests.Onnx;

/// <summary>
/// x_T is a function of (seed, element index) alone: managed code and ONNX Runtime give the same bits, at any batch
/// size and thread count, and the values are standard normal.
/// </summary>
[TestClass]
public sealed class SeedNoiseTests
{
    private static readonly ulong[] Seeds = [0, 1, 2, 42, 4_294_967_295, 4_294_967_296, 20_261_129, long.MaxValue];

    [TestMethod]
    public void OnnxRuntime_GivesTheManagedNoiseBitForBit_AtAnyBatchSizeAndThreadCount()
    {
        const int channels = 3, size = 16, elements = channels * size * size;
        var bytes = NoiseModel(channels, size);
        var expected = SeedNoise.Generate(Seeds, elements);
        foreach (var threads in new[] { 1, 2 })
        {
            using var options = new SessionOptions { IntraOpNumThreads = threads };
            using var session = new InferenceSession(bytes, options);
            var all = Run(session, Seeds);
            CollectionAssert.AreEqual(Bits(expected), Bits(all), $"{threads} thread(s), all seeds in one batch");
            for (var i = 0; i < Seeds.Length; i++)
            {
                var alone = Run(session, [Seeds[i]]);
                CollectionAssert.AreEqual(Bits(expected.AsSpan(i * elements, elements).ToArray()), Bits(alone), $"seed {Seeds[i]} alone");
            }
        }
    }

    [TestMethod]
    public void Noise_IsStandardNormal_AndDependsOnSeedAndIndexOnly()
    {
        var values = SeedNoise.Generate([.. Enumerable.Range(0, 50).Select(i => (ulong)i * 7919)], 4096);
        var mean = values.Average(v => (double)v);
        var variance = values.Average(v => (v - mean) * (v - mean));
        var kurtosis = values.Average(v => Math.Pow(v - mean, 4)) / (variance * variance);
        // 204,800 values: SE of the mean 0.0022, of the variance 0.0031, of the kurtosis ~0.011.
        Assert.AreEqual(0, mean, 0.01);
        Assert.AreEqual(1, variance, 0.015);
        Assert.AreEqual(3, kurtosis, 0.06);
        var within1 = values.Count(v => Math.Abs(v) < 1) / (double)values.Length;
        Assert.AreEqual(0.6827, within1, 0.005);
        Assert.IsTrue(values.All(float.IsFinite));

        // A longer image starts with a shorter one's values; neighbouring seeds are unrelated.
        var short16 = new float[16];
        var long64 = new float[64];
        SeedNoise.Fill(5, short16);
        SeedNoise.Fill(5, long64);
        CollectionAssert.AreEqual(short16, long64[..16]);
        var next = new float[4096];
        var first = new float[4096];
        SeedNoise.Fill(5, first);
        SeedNoise.Fill(6, next);
        var correlation = first.Zip(next, (a, b) => (double)a * b).Average();
        Assert.AreEqual(0, correlation, 0.06);
    }

    /// <summary>The documented function, pinned: a change to it changes every user's images.</summary>
    [TestMethod]
    public void Noise_IsTheDocumentedFunction()
    {
        // lowbias32 (Wellons' constants): 0 is its fixed point; values computed with Python's integers.
        Assert.AreEqual(0u, SeedNoise.Mix(0));
        Assert.AreEqual(0x688990c0u, SeedNoise.Mix(1));
        Assert.AreEqual(0x912efcf7u, SeedNoise.Mix(12345));
        // u₁ = 1 (all ones) gives r = 0; u₁ = 2⁻²⁴ gives the largest radius, √(48 ln 2) = 5.768.
        Assert.AreEqual(0f, SeedNoise.Normal(0xFFFFFF, 0));
        Assert.AreEqual(Math.Sqrt(48 * Math.Log(2)), SeedNoise.Normal(0, 0), 1e-5);
        // Quadrants: u₂ = 1/4 → cos = 0, u₂ = 1/2 → −1, u₂ = 3/4 → 0 (up to the series' rounding).
        var r = SeedNoise.Normal(0, 0);
        Assert.AreEqual(-r, SeedNoise.Normal(0, 2u << 22));
        Assert.AreEqual(0, SeedNoise.Normal(0, 1u << 22), 1e-6);
        // Against double-precision Box–Muller over a grid of inputs: within 2e-6 relative.
        for (uint a = 1; a < 1u << 24; a += 977_123)
        {
            for (uint b = 0; b < 1u << 24; b += 1_234_567)
            {
                var exact = Math.Sqrt(-2 * Math.Log((a + 1) / 16777216.0)) * Math.Cos(2 * Math.PI * b / 16777216.0);
                Assert.AreEqual(exact, SeedNoise.Normal(a, b), 2e-6 * Math.Max(1, Math.Abs(exact)), $"bits {a}, {b}");
            }
        }
    }

    /// <summary>tools/seed-noise/seed_noise.py, written from the documentation in NumPy, gives the same bits.</summary>
    [TestMethod]
    public void PythonFromTheDocumentation_GivesTheSameBits()
    {
        var script = Path.Combine(RepositoryTests.Root, "tools", "seed-noise", "seed_noise.py");
        foreach (var seed in new ulong[] { 0, 42, (1UL << 40) + 3, long.MaxValue })
        {
            var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", [script, seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "300"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var python = System.Diagnostics.Process.Start(start)!;
            var output = python.StandardOutput.ReadToEnd();
            var error = python.StandardError.ReadToEnd();
            Assert.IsTrue(python.WaitForExit(60_000), "python finished");
            Assert.AreEqual(0, python.ExitCode, error);
            var expected = new float[300];
            SeedNoise.Fill(seed, expected);
            CollectionAssert.AreEqual(expected.Select(v => BitConverter.SingleToUInt32Bits(v).ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
                output.Split('\n', StringSplitOptions.RemoveEmptyEntries), $"seed {seed}");
        }
    }

    internal static byte[] NoiseModel(int channels, int size)
    {
        var graph = new OnnxGraph("noise");
        graph.Input("seed", TensorProto.Types.DataType.Int64, [null, 1]);
        var output = SeedNoiseGraph.Emit(graph, "seed", channels, size);
        graph.NodeInto("Identity", [output], ["noise"]);
        graph.Output("noise", TensorProto.Types.DataType.Float, [null, channels, size, size]);
        return graph.ToModel().ToByteArray();
    }

    private static float[] Run(InferenceSession session, ulong[] seeds)
    {
        var input = new DenseTensor<long>(seeds.Select(s => (long)s).ToArray(), [seeds.Length, 1]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("seed", input)]);
        return [.. results[0].AsEnumerable<float>()];
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
