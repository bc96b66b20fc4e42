namespace MLNet.Diffusion.Torch.Tests;

/// <summary>
/// Gradients of every differentiable op against central finite differences in float64, with PyTorch
/// gradcheck's tolerances (eps = 1e-6, atol = 1e-5, rtol = 1e-3). The scalar checked is Σ w ⊙ f(x) for a
/// fixed random w, so every output element contributes with its own weight.
/// </summary>
[TestClass]
public sealed class GradientCheckTests
{
    private const double Eps = 1e-6;
    private const double Atol = 1e-5;
    private const double Rtol = 1e-3;

    private sealed record Case(long[][] Shapes, Func<Tensor[], Tensor> F, double Offset = 0);

    // Inputs are N(0, 1) (plus Offset, to keep log/sqrt/pow in their domains).
    private static readonly Dictionary<string, Case> s_cases = new()
    {
        ["add"] = new([[2, 3], [3]], x => x[0].Add(x[1], 0.5)),
        ["sub"] = new([[2, 3], [2, 3]], x => x[0].Sub(x[1], 2)),
        ["mul"] = new([[2, 3], [2, 1]], x => x[0] * x[1]),
        ["div"] = new([[2, 3], [2, 3]], x => x[0] / x[1], Offset: 3),
        ["scalar ops"] = new([[4]], x => (((2 - x[0]) * 3) + 1) / 4),
        ["rdiv"] = new([[4]], x => 2 / x[0], Offset: 3),
        ["matmul"] = new([[2, 3, 4], [4, 5]], x => x[0].MatMul(x[1])),
        ["pow scalar"] = new([[5]], x => x[0].Pow(2.5), Offset: 3),
        ["pow tensor"] = new([[5], [5]], x => x[0].Pow(x[1]), Offset: 3),
        ["maximum"] = new([[6], [6]], x => x[0].Maximum(x[1])),
        ["neg abs"] = new([[5]], x => (-x[0]).Abs(), Offset: 3),
        ["sin"] = new([[5]], x => x[0].Sin()),
        ["cos"] = new([[5]], x => x[0].Cos()),
        ["exp"] = new([[5]], x => x[0].Exp()),
        ["log"] = new([[5]], x => x[0].Log(), Offset: 3),
        ["sqrt"] = new([[5]], x => x[0].Sqrt(), Offset: 3),
        ["rsqrt"] = new([[5]], x => x[0].Rsqrt(), Offset: 3),
        ["square"] = new([[5]], x => x[0].Square()),
        ["tanh"] = new([[5]], x => x[0].Tanh()),
        ["sigmoid"] = new([[5]], x => x[0].Sigmoid()),
        ["erf"] = new([[5]], x => x[0].Erf()),
        ["reciprocal"] = new([[5]], x => x[0].Reciprocal(), Offset: 3),
        ["clamp"] = new([[8]], x => x[0].Clamp(-0.5, 0.5)),
        ["where"] = new([[6], [6]], x => LibTorch.Where(x[0].Gt(0), x[0] * 2, x[1].Square())),
        ["lerp"] = new([[4], [4]], x => x[0].Lerp(x[1], 0.3)),
        ["lerp tensor"] = new([[4], [4], [4]], x => x[0].Lerp(x[1], x[2])),
        ["sum mean"] = new([[2, 3, 2]], x => x[0].Sum([1]) + x[0].Mean([0, 2], keepDim: true).Sum()),
        ["amax"] = new([[3, 4]], x => x[0].AMax([1])),
        ["var std"] = new([[3, 4]], x => x[0].Var([1]) + x[0].Std([0]).Sum()),
        ["reshape permute transpose"] = new([[2, 3, 4]], x => x[0].Reshape(4, 6).Transpose(0, 1).Reshape(2, 3, 4).Permute(2, 0, 1) * 1.5),
        ["slice select narrow"] = new([[4, 5]], x => x[0].Slice(1, 1, 5, 2).Select(0, 2) + x[0].Narrow(0, 1, 2).Sum()),
        ["expand repeat flip"] = new([[2, 1]], x => x[0].Expand(2, 3).Repeat(2, 1).Flip(0) * LibTorch.Arange(1.0, 13.0, 1.0, ScalarType.Float64).Reshape(4, 3)),
        ["cat stack chunk"] = new([[2, 3], [2, 3]], x => LibTorch.Stack([LibTorch.Cat([x[0], x[1]], 1).Chunk(2, 1)[1], x[1] * 3], 0)),
        ["index select gather"] = new([[3, 4]], x => x[0].IndexSelect(1, LibTorch.FromArray(new long[] { 3, 0, 3 })) + x[0].Gather(1, LibTorch.FromArray(new long[] { 1, 2, 0, 3, 3, 0, 2, 2, 1 }, [3, 3]))),
        ["conv2d"] = new([[2, 4, 5, 5], [6, 2, 3, 3], [6]], x => Functional.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1, groups: 2)),
        ["conv2d dilated"] = new([[1, 2, 6, 6], [3, 2, 3, 3]], x => Functional.Conv2d(x[0], x[1], dilation: 2)),
        ["conv transpose2d"] = new([[2, 3, 3, 3], [3, 2, 4, 4], [2]], x => Functional.ConvTranspose2d(x[0], x[1], x[2], stride: 2, padding: 1)),
        ["linear"] = new([[3, 4], [5, 4], [5]], x => Functional.Linear(x[0], x[1], x[2])),
        ["group norm"] = new([[2, 4, 3, 3], [4], [4]], x => Functional.GroupNorm(x[0], 2, x[1], x[2])),
        ["layer norm"] = new([[3, 5], [5], [5]], x => Functional.LayerNorm(x[0], [5], x[1], x[2])),
        ["silu"] = new([[6]], x => Functional.Silu(x[0])),
        ["relu"] = new([[6]], x => Functional.Relu(x[0])),
        ["gelu"] = new([[6]], x => Functional.Gelu(x[0])),
        ["gelu tanh"] = new([[6]], x => Functional.Gelu(x[0], tanhApproximation: true)),
        ["softmax"] = new([[3, 4]], x => Functional.Softmax(x[0], 1)),
        ["log softmax"] = new([[3, 4]], x => Functional.LogSoftmax(x[0], 0)),
        ["attention"] = new([[2, 3, 4], [2, 5, 4], [2, 5, 3]], x => Functional.ScaledDotProductAttention(x[0], x[1], x[2])),
        ["attention causal"] = new([[1, 4, 2], [1, 4, 2], [1, 4, 2]], x => Functional.ScaledDotProductAttention(x[0], x[1], x[2], isCausal: true)),
        ["interpolate nearest"] = new([[1, 2, 3, 3]], x => Functional.Interpolate(x[0], 6, 5)),
        ["interpolate bilinear"] = new([[1, 2, 3, 3]], x => Functional.Interpolate(x[0], 5, 7, InterpolationMode.Bilinear)),
        ["avg pool"] = new([[1, 2, 4, 4]], x => Functional.AvgPool2d(x[0], 2)),
        ["max pool"] = new([[1, 2, 4, 4]], x => Functional.MaxPool2d(x[0], 2)),
        ["mse loss"] = new([[3, 4], [3, 4]], x => Functional.MseLoss(x[0], x[1])),
        ["cross entropy"] = new([[4, 3]], x => Functional.CrossEntropy(x[0], LibTorch.FromArray(new long[] { 0, 2, 1, 2 }))),
        ["embedding"] = new([[4, 3]], x => Functional.Embedding(x[0], LibTorch.FromArray(new long[] { 3, 1, 3 }))),
    };

    public static IEnumerable<object[]> CaseNames => s_cases.Keys.Select(k => new object[] { k });

    [TestMethod]
    [DynamicData(nameof(CaseNames))]
    public void Gradient_MatchesFiniteDifferences(string name)
    {
        var c = s_cases[name];
        using var scope = LibTorch.NewDisposeScope();
        using var generator = new Generator(2024);
        var values = c.Shapes.Select(s => TestUtil.Values(LibTorch.Randn(s, generator, ScalarType.Float64)).Select(v => v + c.Offset).ToArray()).ToArray();
        var inputs = values.Select((v, i) => LibTorch.FromArray(v, c.Shapes[i]).RequiresGradInPlace()).ToArray();
        var output = c.F(inputs);
        var weights = LibTorch.Randn(output.Shape, generator, ScalarType.Float64);
        (output * weights).Sum().Backward();

        for (var i = 0; i < inputs.Length; i++)
        {
            var analytic = inputs[i].Grad is { } g ? TestUtil.Values(g) : new double[values[i].Length];
            for (var j = 0; j < values[i].Length; j++)
            {
                var numeric = (Evaluate(c, values, i, j, +Eps, weights) - Evaluate(c, values, i, j, -Eps, weights)) / (2 * Eps);
                Assert.IsTrue(Math.Abs(analytic[j] - numeric) <= Atol + (Rtol * Math.Abs(numeric)),
                    $"{name}: d/d input{i}[{j}]: autograd {analytic[j]}, finite difference {numeric}");
            }
        }
    }

    [TestMethod]
    public void Cases_CoverEveryDifferentiableFunctionalOp()
    {
        // A new differentiable op in Functional should get a gradient case: this lists the ones covered.
        var functional = typeof(Functional).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Select(m => m.Name).Distinct().Where(n => n != nameof(Functional.Dropout)).OrderBy(n => n).ToArray();
        var covered = s_cases.Keys.Select(k => k.Replace(" ", string.Empty, StringComparison.Ordinal)).ToArray();
        foreach (var op in functional)
        {
            var key = op.ToLowerInvariant() switch
            {
                "scaleddotproductattention" => "attention",
                "interpolate" => "interpolatenearest",
                "avgpool2d" => "avgpool",
                "maxpool2d" => "maxpool",
                "convtranspose2d" => "convtranspose2d",
                var other => other,
            };
            Assert.IsTrue(covered.Contains(key, StringComparer.OrdinalIgnoreCase), $"Functional.{op} has no gradient check case.");
        }
    }

    private static double Evaluate(Case c, double[][] values, int input, int element, double delta, Tensor weights)
    {
        using var scope = LibTorch.NewDisposeScope();
        using var noGrad = Autograd.NoGrad();
        var perturbed = values.Select((v, i) =>
        {
            var copy = (double[])v.Clone();
            if (i == input)
            {
                copy[element] += delta;
            }

            return LibTorch.FromArray(copy, c.Shapes[i]);
        }).ToArray();
        return (c.F(perturbed) * weights).Sum().ToDouble();
    }
}
