using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>Elementwise arithmetic, math functions, comparisons and reductions.</summary>
public sealed unsafe partial class Tensor
{
    /// <summary>Elementwise sum (with broadcasting).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(Tensor a, double b) => LibTorch.Wrap(Native.mlnd_add_scalar(a.LiveHandle, b));

    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(double a, Tensor b) => b + a;

    /// <summary>Elementwise difference (with broadcasting).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);

    /// <summary>Subtracts a scalar from every element.</summary>
    public static Tensor operator -(Tensor a, double b) => LibTorch.Wrap(Native.mlnd_add_scalar(a.LiveHandle, -b));

    /// <summary>A scalar minus every element.</summary>
    public static Tensor operator -(double a, Tensor b) => LibTorch.Wrap(Native.mlnd_rsub_scalar(b.LiveHandle, a));

    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    /// <summary>Elementwise product (with broadcasting).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);

    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => LibTorch.Wrap(Native.mlnd_mul_scalar(a.LiveHandle, b));

    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => b * a;

    /// <summary>Elementwise true division (with broadcasting).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);

    /// <summary>Divides every element by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => LibTorch.Wrap(Native.mlnd_div_scalar(a.LiveHandle, b));

    /// <summary>A scalar divided by every element.</summary>
    public static Tensor operator /(double a, Tensor b) => LibTorch.Wrap(Native.mlnd_rdiv_scalar(b.LiveHandle, a));

    /// <summary><c>this + alpha · other</c>.</summary>
    public Tensor Add(Tensor other, double alpha = 1) => LibTorch.Wrap(Native.mlnd_add(LiveHandle, Arg(other), alpha));

    /// <summary><c>this − alpha · other</c>.</summary>
    public Tensor Sub(Tensor other, double alpha = 1) => LibTorch.Wrap(Native.mlnd_sub(LiveHandle, Arg(other), alpha));

    /// <summary>Elementwise product.</summary>
    public Tensor Mul(Tensor other) => LibTorch.Wrap(Native.mlnd_mul(LiveHandle, Arg(other)));

    /// <summary>Elementwise true division.</summary>
    public Tensor Div(Tensor other) => LibTorch.Wrap(Native.mlnd_div(LiveHandle, Arg(other)));

    /// <summary>Matrix product with PyTorch's broadcasting rules (batched for 3+ dimensions).</summary>
    public Tensor MatMul(Tensor other) => LibTorch.Wrap(Native.mlnd_matmul(LiveHandle, Arg(other)));

    /// <summary>Elementwise power with a scalar exponent.</summary>
    public Tensor Pow(double exponent) => LibTorch.Wrap(Native.mlnd_pow_scalar(LiveHandle, exponent));

    /// <summary>Elementwise power with a tensor exponent.</summary>
    public Tensor Pow(Tensor exponent) => LibTorch.Wrap(Native.mlnd_pow_tensor(LiveHandle, Arg(exponent)));

    /// <summary>Elementwise maximum of two tensors.</summary>
    public Tensor Maximum(Tensor other) => LibTorch.Wrap(Native.mlnd_maximum(LiveHandle, Arg(other)));

    /// <summary>Elementwise minimum of two tensors.</summary>
    public Tensor Minimum(Tensor other) => LibTorch.Wrap(Native.mlnd_minimum(LiveHandle, Arg(other)));

    /// <summary>Negation.</summary>
    public Tensor Neg() => LibTorch.Wrap(Native.mlnd_neg(LiveHandle));

    /// <summary>Absolute value.</summary>
    public Tensor Abs() => LibTorch.Wrap(Native.mlnd_abs(LiveHandle));

    /// <summary>Sine.</summary>
    public Tensor Sin() => LibTorch.Wrap(Native.mlnd_sin(LiveHandle));

    /// <summary>Cosine.</summary>
    public Tensor Cos() => LibTorch.Wrap(Native.mlnd_cos(LiveHandle));

    /// <summary>Natural exponential.</summary>
    public Tensor Exp() => LibTorch.Wrap(Native.mlnd_exp(LiveHandle));

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => LibTorch.Wrap(Native.mlnd_log(LiveHandle));

    /// <summary>Square root.</summary>
    public Tensor Sqrt() => LibTorch.Wrap(Native.mlnd_sqrt(LiveHandle));

    /// <summary>Reciprocal square root.</summary>
    public Tensor Rsqrt() => LibTorch.Wrap(Native.mlnd_rsqrt(LiveHandle));

    /// <summary>Elementwise square.</summary>
    public Tensor Square() => LibTorch.Wrap(Native.mlnd_square(LiveHandle));

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => LibTorch.Wrap(Native.mlnd_tanh(LiveHandle));

    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => LibTorch.Wrap(Native.mlnd_sigmoid(LiveHandle));

    /// <summary>Round down.</summary>
    public Tensor Floor() => LibTorch.Wrap(Native.mlnd_floor(LiveHandle));

    /// <summary>Round half to even.</summary>
    public Tensor Round() => LibTorch.Wrap(Native.mlnd_round(LiveHandle));

    /// <summary>Sign (−1, 0, 1).</summary>
    public Tensor Sign() => LibTorch.Wrap(Native.mlnd_sign(LiveHandle));

    /// <summary>1 / x.</summary>
    public Tensor Reciprocal() => LibTorch.Wrap(Native.mlnd_reciprocal(LiveHandle));

    /// <summary>The error function, erf(x) = 2/√π ∫₀ˣ e^(−u²) du.</summary>
    public Tensor Erf() => LibTorch.Wrap(Native.mlnd_erf(LiveHandle));

    /// <summary>Which elements are NaN (bool tensor).</summary>
    public Tensor IsNaN() => LibTorch.Wrap(Native.mlnd_isnan(LiveHandle));

    /// <summary>Which elements are finite (bool tensor).</summary>
    public Tensor IsFinite() => LibTorch.Wrap(Native.mlnd_isfinite(LiveHandle));

    /// <summary>Logical not.</summary>
    public Tensor LogicalNot() => LibTorch.Wrap(Native.mlnd_logical_not(LiveHandle));

    /// <summary>Logical and.</summary>
    public Tensor LogicalAnd(Tensor other) => LibTorch.Wrap(Native.mlnd_logical_and(LiveHandle, Arg(other)));

    /// <summary>Logical or.</summary>
    public Tensor LogicalOr(Tensor other) => LibTorch.Wrap(Native.mlnd_logical_or(LiveHandle, Arg(other)));

    /// <summary>Clamps into [min, max]; a null bound is open.</summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null)
        {
            throw new ArgumentException("Clamp needs at least one of min and max.", nameof(min));
        }

        return LibTorch.Wrap(Native.mlnd_clamp(LiveHandle, (sbyte)(min.HasValue ? 1 : 0), min ?? 0, (sbyte)(max.HasValue ? 1 : 0), max ?? 0));
    }

    /// <summary><c>this + weight · (end − this)</c>.</summary>
    public Tensor Lerp(Tensor end, double weight) => LibTorch.Wrap(Native.mlnd_lerp(LiveHandle, Arg(end), weight));

    /// <summary><c>this + weight · (end − this)</c> with a tensor weight.</summary>
    public Tensor Lerp(Tensor end, Tensor weight) => LibTorch.Wrap(Native.mlnd_lerp_tensor(LiveHandle, Arg(end), Arg(weight)));

    /// <summary>In place: <c>this += alpha · other</c>. Returns this tensor.</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1)
    {
        LibTorch.Check(Native.mlnd_add_(LiveHandle, Arg(other), alpha));
        return this;
    }

    /// <summary>In place: <c>this *= factor</c>. Returns this tensor.</summary>
    public Tensor MulInPlace(double factor)
    {
        LibTorch.Check(Native.mlnd_mul_scalar_(LiveHandle, factor));
        return this;
    }

    /// <summary>In place: <c>this += weight · (end − this)</c>. Returns this tensor.</summary>
    public Tensor LerpInPlace(Tensor end, double weight)
    {
        LibTorch.Check(Native.mlnd_lerp_(LiveHandle, Arg(end), weight));
        return this;
    }

    /// <summary>In place: clamps into [min, max]. Returns this tensor.</summary>
    public Tensor ClampInPlace(double min, double max)
    {
        LibTorch.Check(Native.mlnd_clamp_(LiveHandle, min, max));
        return this;
    }

    /// <summary>In place: copies <paramref name="source"/> (broadcast, converted) into this tensor. Returns this tensor.</summary>
    public Tensor CopyFrom(Tensor source)
    {
        LibTorch.Check(Native.mlnd_tensor_copy_(LiveHandle, Arg(source)));
        return this;
    }

    /// <summary>In place: sets every element to <paramref name="value"/>. Returns this tensor.</summary>
    public Tensor FillInPlace(double value)
    {
        LibTorch.Check(Native.mlnd_tensor_fill_(LiveHandle, value));
        return this;
    }

    /// <summary>In place: sets every element to zero. Returns this tensor.</summary>
    public Tensor ZeroInPlace()
    {
        LibTorch.Check(Native.mlnd_tensor_zero_(LiveHandle));
        return this;
    }

    /// <summary>Elementwise <c>==</c> (bool tensor).</summary>
    public Tensor Eq(Tensor other) => LibTorch.Wrap(Native.mlnd_eq(LiveHandle, Arg(other)));

    /// <summary>Elementwise <c>!=</c>.</summary>
    public Tensor Ne(Tensor other) => LibTorch.Wrap(Native.mlnd_ne(LiveHandle, Arg(other)));

    /// <summary>Elementwise <c>&lt;</c>.</summary>
    public Tensor Lt(Tensor other) => LibTorch.Wrap(Native.mlnd_lt(LiveHandle, Arg(other)));

    /// <summary>Elementwise <c>&lt;=</c>.</summary>
    public Tensor Le(Tensor other) => LibTorch.Wrap(Native.mlnd_le(LiveHandle, Arg(other)));

    /// <summary>Elementwise <c>&gt;</c>.</summary>
    public Tensor Gt(Tensor other) => LibTorch.Wrap(Native.mlnd_gt(LiveHandle, Arg(other)));

    /// <summary>Elementwise <c>&gt;=</c>.</summary>
    public Tensor Ge(Tensor other) => LibTorch.Wrap(Native.mlnd_ge(LiveHandle, Arg(other)));

    /// <summary>Elementwise <c>== value</c>.</summary>
    public Tensor Eq(double value) => LibTorch.Wrap(Native.mlnd_eq_scalar(LiveHandle, value));

    /// <summary>Elementwise <c>!= value</c>.</summary>
    public Tensor Ne(double value) => LibTorch.Wrap(Native.mlnd_ne_scalar(LiveHandle, value));

    /// <summary>Elementwise <c>&lt; value</c>.</summary>
    public Tensor Lt(double value) => LibTorch.Wrap(Native.mlnd_lt_scalar(LiveHandle, value));

    /// <summary>Elementwise <c>&lt;= value</c>.</summary>
    public Tensor Le(double value) => LibTorch.Wrap(Native.mlnd_le_scalar(LiveHandle, value));

    /// <summary>Elementwise <c>&gt; value</c>.</summary>
    public Tensor Gt(double value) => LibTorch.Wrap(Native.mlnd_gt_scalar(LiveHandle, value));

    /// <summary>Elementwise <c>&gt;= value</c>.</summary>
    public Tensor Ge(double value) => LibTorch.Wrap(Native.mlnd_ge_scalar(LiveHandle, value));

    /// <summary>Whether every element is within <c>atol + rtol·|other|</c> of <paramref name="other"/>.</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        using var result = LibTorch.Wrap(Native.mlnd_allclose(LiveHandle, Arg(other), rtol, atol)).DetachFromDisposeScope();
        return result.ToBoolean();
    }

    /// <summary>Sum of all elements.</summary>
    public Tensor Sum() => LibTorch.Wrap(Native.mlnd_sum_all(LiveHandle));

    /// <summary>Sum over <paramref name="dims"/>.</summary>
    public Tensor Sum(long[] dims, bool keepDim = false) => Reduce(&Native.mlnd_sum, dims, keepDim);

    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => LibTorch.Wrap(Native.mlnd_mean_all(LiveHandle));

    /// <summary>Mean over <paramref name="dims"/>.</summary>
    public Tensor Mean(long[] dims, bool keepDim = false) => Reduce(&Native.mlnd_mean, dims, keepDim);

    /// <summary>Largest element.</summary>
    public Tensor Max() => LibTorch.Wrap(Native.mlnd_max_all(LiveHandle));

    /// <summary>Smallest element.</summary>
    public Tensor Min() => LibTorch.Wrap(Native.mlnd_min_all(LiveHandle));

    /// <summary>Largest values over <paramref name="dims"/>.</summary>
    public Tensor AMax(long[] dims, bool keepDim = false) => Reduce(&Native.mlnd_amax, dims, keepDim);

    /// <summary>Smallest values over <paramref name="dims"/>.</summary>
    public Tensor AMin(long[] dims, bool keepDim = false) => Reduce(&Native.mlnd_amin, dims, keepDim);

    /// <summary>Whether any element is true (non-zero).</summary>
    public Tensor Any() => LibTorch.Wrap(Native.mlnd_any_all(LiveHandle));

    /// <summary>Whether every element is true (non-zero).</summary>
    public Tensor All() => LibTorch.Wrap(Native.mlnd_all_all(LiveHandle));

    /// <summary>Variance over <paramref name="dims"/> (all elements when null), unbiased by default as in PyTorch.</summary>
    public Tensor Var(long[]? dims = null, bool unbiased = true, bool keepDim = false)
    {
        dims ??= [];
        fixed (long* p = dims)
        {
            return LibTorch.Wrap(Native.mlnd_var(LiveHandle, p, dims.Length, Flag(unbiased), Flag(keepDim)));
        }
    }

    /// <summary>Standard deviation over <paramref name="dims"/> (all elements when null), unbiased by default.</summary>
    public Tensor Std(long[]? dims = null, bool unbiased = true, bool keepDim = false)
    {
        dims ??= [];
        fixed (long* p = dims)
        {
            return LibTorch.Wrap(Native.mlnd_std(LiveHandle, p, dims.Length, Flag(unbiased), Flag(keepDim)));
        }
    }

    /// <summary>The <paramref name="q"/>-quantile (0 ≤ q ≤ 1, linear interpolation) along <paramref name="dim"/>.</summary>
    public Tensor Quantile(double q, long dim, bool keepDim = false)
    {
        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "The quantile must be in [0, 1].");
        }

        return LibTorch.Wrap(Native.mlnd_quantile(LiveHandle, q, dim, Flag(keepDim)));
    }

    /// <summary>Index of the largest value along <paramref name="dim"/>.</summary>
    public Tensor ArgMax(long dim, bool keepDim = false) => LibTorch.Wrap(Native.mlnd_argmax(LiveHandle, dim, Flag(keepDim)));

    /// <summary>Index of the smallest value along <paramref name="dim"/>.</summary>
    public Tensor ArgMin(long dim, bool keepDim = false) => LibTorch.Wrap(Native.mlnd_argmin(LiveHandle, dim, Flag(keepDim)));

    private Tensor Reduce(delegate*<TensorHandle, long*, int, sbyte, TensorHandle> op, long[] dims, bool keepDim)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length == 0)
        {
            throw new ArgumentException("Name at least one dimension to reduce over, or call the overload without dims.", nameof(dims));
        }

        fixed (long* p = dims)
        {
            return LibTorch.Wrap(op(LiveHandle, p, dims.Length, Flag(keepDim)));
        }
    }

    internal static sbyte Flag(bool value) => value ? (sbyte)1 : (sbyte)0;

    internal static TensorHandle Arg(Tensor tensor, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(tensor))] string? name = null) =>
        (tensor ?? throw new ArgumentNullException(name)).LiveHandle;

    internal static TensorHandle ArgOrNull(Tensor? tensor) => tensor is null ? TensorHandle.Null : tensor.LiveHandle;
}
