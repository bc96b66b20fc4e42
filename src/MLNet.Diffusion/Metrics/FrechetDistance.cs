using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// The Fréchet distance between two Gaussians (Dowson and Landau 1982), which FID (Heusel et al. 2017) applies to the
/// feature statistics of real and generated images: d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), in float64.
/// </summary>
public static class FrechetDistance
{
    /// <summary>The squared Fréchet distance between the Gaussians of <paramref name="first"/> and <paramref name="second"/>.</summary>
    /// <exception cref="ArgumentException">The dimensions differ.</exception>
    public static double Compute(FeatureStatistics first, FeatureStatistics second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Dimension != second.Dimension)
        {
            throw new ArgumentException($"The statistics have different dimensions: {first.Dimension} and {second.Dimension}.", nameof(second));
        }

        var n = first.Dimension;
        double meanTerm = 0, traces = 0;
        for (var i = 0; i < n; i++)
        {
            var gap = first.Mean[i] - second.Mean[i];
            meanTerm += gap * gap;
            traces += first.Covariance[(i * n) + i] + second.Covariance[(i * n) + i];
        }

        return meanTerm + traces - (2 * TraceOfSquareRootOfProduct([.. first.Covariance], [.. second.Covariance], n));
    }

    /// <summary>
    /// tr (AB)^½ for symmetric positive semi-definite A and B (n×n, row-major), through the symmetric form
    /// tr (√A B √A)^½, which has the same eigenvalues as AB: √A from the eigendecomposition of A (negative rounding-level
    /// eigenvalues clamped to 0), then the eigenvalues of √A B √A, whose non-negative square roots are summed. LAPACK's
    /// symmetric eigensolver through libtorch, in float64 (seconds at n = 512, where the Jacobi method below took minutes);
    /// should it report a failure to converge, the Jacobi method, which always converges, computes the same.
    /// </summary>
    internal static double TraceOfSquareRootOfProduct(double[] a, double[] b, int n)
    {
        try
        {
            using var scope = torch.NewDisposeScope();
            var (values, vectors) = torch.linalg.eigh(torch.tensor(a, [n, n], ScalarType.Float64));
            var root = vectors.matmul(torch.diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
            var product = root.matmul(torch.tensor(b, [n, n], ScalarType.Float64)).matmul(root);
            product = (product + product.t()) / 2;
            return torch.linalg.eigvalsh(product).clamp_min(0).sqrt().sum().ToDouble();
        }
        catch (ExternalException)
        {
            return TraceOfSquareRootOfProductByJacobi(a, b, n);
        }
    }

    /// <summary><see cref="TraceOfSquareRootOfProduct"/> by the cyclic Jacobi method (<see cref="SymmetricEigen"/>), in managed code.</summary>
    internal static double TraceOfSquareRootOfProductByJacobi(double[] a, double[] b, int n)
    {
        var (values, vectors) = SymmetricEigen(a, n);
        var root = new double[n * n];  // V diag(√λ) Vᵀ
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                double sum = 0;
                for (var k = 0; k < n; k++)
                {
                    sum += vectors[(i * n) + k] * Math.Sqrt(Math.Max(values[k], 0)) * vectors[(j * n) + k];
                }

                root[(i * n) + j] = root[(j * n) + i] = sum;
            }
        }

        var product = Multiply(Multiply(root, b, n), root, n);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < i; j++)
            {
                product[(i * n) + j] = product[(j * n) + i] = 0.5 * (product[(i * n) + j] + product[(j * n) + i]);
            }
        }

        return SymmetricEigen(product, n).Values.Sum(v => Math.Sqrt(Math.Max(v, 0)));
    }

    /// <summary>
    /// The eigenvalues and eigenvectors (columns of the row-major n×n result) of a symmetric matrix, by cyclic Jacobi
    /// rotations (Golub and Van Loan, Matrix Computations, §8.5), which are accurate to rounding for symmetric matrices.
    /// </summary>
    internal static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int n)
    {
        var a = (double[])matrix.Clone();
        var v = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            v[(i * n) + i] = 1;
        }

        double total = 0;
        foreach (var x in a)
        {
            total += x * x;
        }

        for (var sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    off += a[(p * n) + q] * a[(p * n) + q];
                }
            }

            if (off <= 1e-30 * total)
            {
                break;
            }

            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    var apq = a[(p * n) + q];
                    if (apq == 0)
                    {
                        continue;
                    }

                    // The rotation that zeroes a[p, q]: t = tan θ, the smaller root of t² + 2τt − 1 = 0.
                    var tau = (a[(q * n) + q] - a[(p * n) + p]) / (2 * apq);
                    var t = Math.Abs(tau) > 1e150 ? 0.5 / tau : Math.Sign(tau == 0 ? 1 : tau) / (Math.Abs(tau) + Math.Sqrt((tau * tau) + 1));
                    var c = 1 / Math.Sqrt((t * t) + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        if (k == p || k == q)
                        {
                            continue;
                        }

                        var akp = a[(k * n) + p];
                        var akq = a[(k * n) + q];
                        a[(k * n) + p] = a[(p * n) + k] = (c * akp) - (s * akq);
                        a[(k * n) + q] = a[(q * n) + k] = (s * akp) + (c * akq);
                    }

                    a[(p * n) + p] -= t * apq;
                    a[(q * n) + q] += t * apq;
                    a[(p * n) + q] = a[(q * n) + p] = 0;
                    for (var k = 0; k < n; k++)
                    {
                        var vkp = v[(k * n) + p];
                        var vkq = v[(k * n) + q];
                        v[(k * n) + p] = (c * vkp) - (s * vkq);
                        v[(k * n) + q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }

        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = a[(i * n) + i];
        }

        return (values, v);
    }

    private static double[] Multiply(double[] x, double[] y, int n)
    {
        var result = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < n; k++)
            {
                var xik = x[(i * n) + k];
                for (var j = 0; j < n; j++)
                {
                    result[(i * n) + j] += xik * y[(k * n) + j];
                }
            }
        }

        return result;
    }
}
