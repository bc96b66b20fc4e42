using System.Globalization;
using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.Metrics;

namespace MLNet.Diffusion.Tests.Metrics;

[TestClass]
public sealed class FrechetDistanceTests
{
    // Features with correlated dimensions: x = z·mixing + shift, z standard normal.
    private static Tensor CorrelatedFeatures(ulong seed, int count, int dimension, double shift)
    {
        using var generator = new Generator(seed);
        using var scope = torch.NewDisposeScope();
        var z = torch.randn([count, dimension], ScalarType.Float64, generator: generator);
        var mixing = torch.randn([dimension, dimension], ScalarType.Float64, generator: generator) * (1.0 / Math.Sqrt(dimension));
        return scope.MoveToOuter((z.matmul(mixing) + shift).to(ScalarType.Float32));
    }

    private static FeatureStatistics Diagonal(double[] mean, double[] variances)
    {
        var n = mean.Length;
        var covariance = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            covariance[(i * n) + i] = variances[i];
        }

        return new FeatureStatistics(mean, covariance, 100);
    }

    [TestMethod]
    public void Compute_IdenticalStatistics_IsZero()
    {
        using var features = CorrelatedFeatures(1, 500, 32, 0.5);
        var statistics = FeatureStatistics.FromFeatures(features);
        Assert.AreEqual(0, FrechetDistance.Compute(statistics, statistics), 1e-9);
    }

    [TestMethod]
    public void Compute_DiagonalGaussians_MatchesClosedForm()
    {
        // Commuting covariances: d² = ‖μ₁ − μ₂‖² + Σ (√a − √b)².
        var first = Diagonal([0, 1, 2], [1, 4, 9]);
        var second = Diagonal([1, 1, 0], [4, 1, 0.25]);
        var expected = (1 + 0 + 4) + (1 + 1 + 6.25);
        Assert.AreEqual(expected, FrechetDistance.Compute(first, second), 1e-12);
    }

    [TestMethod]
    public void Compute_NonCommutingTwoByTwo_MatchesClosedForm()
    {
        // For 2×2 positive definite A, B: tr (AB)^½ = √(tr AB + 2√(det A · det B)), since AB's eigenvalues are positive.
        double[] a = [2, 0.5, 0.5, 1], b = [1, -0.3, -0.3, 3];
        var first = new FeatureStatistics([0, 0], a, 10);
        var second = new FeatureStatistics([0.5, -1], b, 10);
        var trAB = (a[0] * b[0]) + (a[1] * b[2]) + (a[2] * b[1]) + (a[3] * b[3]);
        var detA = (a[0] * a[3]) - (a[1] * a[2]);
        var detB = (b[0] * b[3]) - (b[1] * b[2]);
        var expected = 1.25 + (a[0] + a[3] + b[0] + b[3]) - (2 * Math.Sqrt(trAB + (2 * Math.Sqrt(detA * detB))));
        Assert.AreEqual(expected, FrechetDistance.Compute(first, second), 1e-12);
    }

    [TestMethod]
    [DataRow(48, 30, 1e-6)]   // rank-deficient (30 samples in 48 dimensions): √ of rounding-level eigenvalues is ~1e-8
    [DataRow(48, 400, 1e-9)]  // full rank
    public void TraceOfSquareRoot_Lapack_AgreesWithJacobi(int n, int samples, double tolerance)
    {
        var random = new Random(n + samples);
        double[] Covariance()
        {
            var x = Enumerable.Range(0, samples * n).Select(_ => random.NextDouble() - 0.5).ToArray();
            var c = new double[n * n];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    c[(i * n) + j] = Enumerable.Range(0, samples).Sum(k => x[(k * n) + i] * x[(k * n) + j]) / samples;
                }
            }

            return c;
        }

        var (a, b) = (Covariance(), Covariance());
        var lapack = FrechetDistance.TraceOfSquareRootOfProduct(a, b, n);
        var jacobi = FrechetDistance.TraceOfSquareRootOfProductByJacobi(a, b, n);
        Assert.AreEqual(jacobi, lapack, tolerance * Math.Abs(jacobi));
    }

    [TestMethod]
    public void SymmetricEigen_RandomMatrix_ReconstructsWithOrthonormalVectors()
    {
        const int n = 40;
        using var features = CorrelatedFeatures(3, 100, n, 0);
        var matrix = FeatureStatistics.FromFeatures(features).Covariance.ToArray();
        var (values, vectors) = FrechetDistance.SymmetricEigen(matrix, n);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double reconstructed = 0, gram = 0;
                for (var k = 0; k < n; k++)
                {
                    reconstructed += vectors[(i * n) + k] * values[k] * vectors[(j * n) + k];
                    gram += vectors[(k * n) + i] * vectors[(k * n) + j];
                }

                Assert.AreEqual(matrix[(i * n) + j], reconstructed, 1e-12, $"V Λ Vᵀ at [{i}, {j}]");
                Assert.AreEqual(i == j ? 1 : 0, gram, 1e-12, $"Vᵀ V at [{i}, {j}]");
            }
        }
    }

    [TestMethod]
    public void Compute_MismatchedDimensions_Throws()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => FrechetDistance.Compute(Diagonal([0, 0], [1, 1]), Diagonal([0], [1])));
        StringAssert.Contains(error.Message, "2 and 1");
    }

    [TestMethod]
    public void FeatureStatistics_AsymmetricCovariance_Throws()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => new FeatureStatistics([0, 0], [1, 0.5, 0.2, 1], 10));
        StringAssert.Contains(error.Message, "not symmetric");
    }

    // numpy computes the statistics (np.cov) and the distance through the eigenvalues of the non-symmetric product Σ₁Σ₂
    // (np.linalg.eigvals), a formulation independent of ours; scipy is not installed with Debian's python3-torch.
    [TestMethod]
    // Without full rank, the square roots of rounding-level eigenvalues (≈ 1e-8 each) limit the agreement.
    [DataRow(400, 64, 1e-9, DisplayName = "full rank")]
    [DataRow(40, 64, 1e-6, DisplayName = "rank-deficient (N < D)")]
    public void Compute_RandomFeatures_MatchesNumpy(int count, int dimension, double relativeTolerance)
    {
        DebianPython.RequireNumpy();
        using var first = CorrelatedFeatures(10, count, dimension, 0);
        using var second = CorrelatedFeatures(11, count, dimension, 0.3);
        using var folder = new TempFolder();
        var paths = new[] { folder.File("first.f64"), folder.File("second.f64") };
        File.WriteAllBytes(paths[0], first.to(ScalarType.Float64).ToBytes());
        File.WriteAllBytes(paths[1], second.to(ScalarType.Float64).ToBytes());
        var (code, output) = DebianPython.Run(
            "import sys, numpy as np\n" +
            "d = int(sys.argv[3])\n" +
            "x1, x2 = (np.fromfile(p, dtype='<f8').reshape(-1, d) for p in sys.argv[1:3])\n" +
            "m1, m2 = x1.mean(0), x2.mean(0)\n" +
            "s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)\n" +
            "ev = np.linalg.eigvals(s1 @ s2)\n" +
            "print(repr(float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.maximum(ev.real, 0)).sum())))\n",
            paths[0], paths[1], dimension.ToString(CultureInfo.InvariantCulture));
        Assert.AreEqual(0, code, output);
        var expected = double.Parse(output.Trim(), CultureInfo.InvariantCulture);
        var actual = FrechetDistance.Compute(FeatureStatistics.FromFeatures(first), FeatureStatistics.FromFeatures(second));
        Assert.AreEqual(expected, actual, relativeTolerance * Math.Abs(expected), $"numpy {expected}, ours {actual}");
    }
}
