namespace MLNet.Diffusion.Torch.Tests;

/// <summary>Helpers shared by the tests.</summary>
internal static class TestUtil
{
    public static Tensor F32(float[] values, params long[] shape) => LibTorch.FromArray(values, shape.Length == 0 ? [values.Length] : shape);

    public static Tensor F64(double[] values, params long[] shape) => LibTorch.FromArray(values, shape.Length == 0 ? [values.Length] : shape);

    public static void AreClose(double[] expected, double[] actual, double tolerance, string? message = null)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"length differs. {message}");
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], actual[i], tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}. {message}");
        }
    }

    public static void AreClose(float[] expected, Tensor actual, double tolerance = 1e-5)
    {
        using var d = actual.To(ScalarType.Float32);
        AreClose(expected.Select(v => (double)v).ToArray(), d.ToArray<float>().Select(v => (double)v).ToArray(), tolerance);
    }

    public static double[] Values(Tensor t)
    {
        using var d = t.To(ScalarType.Float64);
        return d.ToArray<double>();
    }
}
