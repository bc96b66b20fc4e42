using System.Globalization;
using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019) with decoupled weight decay. One native call updates every parameter,
/// with the same in-place sequence as PyTorch 1.13's AdamW. State is created at the first step.
/// </summary>
public sealed unsafe class AdamW : IDisposable
{
    private readonly Tensor[] _parameters;
    private readonly long[] _steps;
    private Tensor[]? _expAvg;
    private Tensor[]? _expAvgSq;
    private double _learningRate;

    /// <summary>Creates the optimiser over <paramref name="parameters"/> (PyTorch's defaults).</summary>
    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 1e-2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = [.. parameters];
        if (_parameters.Length == 0)
        {
            throw new ArgumentException("AdamW needs at least one parameter.", nameof(parameters));
        }

        CheckRange(beta1, 0, 1, nameof(beta1));
        CheckRange(beta2, 0, 1, nameof(beta2));
        if (!(epsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Epsilon must be ≥ 0.");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be ≥ 0.");
        LearningRate = learningRate;
        (Beta1, Beta2, Epsilon, WeightDecay) = (beta1, beta2, epsilon, weightDecay);
        _steps = new long[_parameters.Length];
    }

    /// <summary>The learning rate used by the next step; schedules set it between steps.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0) || double.IsInfinity(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a finite number ≥ 0.");
            }

            _learningRate = value;
        }
    }

    /// <summary>β₁, the decay of the first-moment estimate.</summary>
    public double Beta1 { get; }

    /// <summary>β₂, the decay of the second-moment estimate.</summary>
    public double Beta2 { get; }

    /// <summary>ε, added to the denominator.</summary>
    public double Epsilon { get; }

    /// <summary>Decoupled weight decay λ: each step multiplies parameters by 1 − lr·λ.</summary>
    public double WeightDecay { get; }

    /// <summary>The parameters this optimiser updates.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The number of steps taken by the first parameter (all have the same count in ordinary training).</summary>
    public long StepCount => _steps[0];

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step()
    {
        EnsureState();
        var p = LibTorch.Handles(_parameters, nameof(Parameters));
        var m = LibTorch.Handles(_expAvg!, "exp_avg");
        var v = LibTorch.Handles(_expAvgSq!, "exp_avg_sq");
        fixed (IntPtr* pp = p)
        fixed (IntPtr* mp = m)
        fixed (IntPtr* vp = v)
        fixed (long* sp = _steps)
        {
            LibTorch.Check(Native.mlnd_adamw_step(pp, mp, vp, sp, p.Length, LearningRate, Beta1, Beta2, Epsilon, WeightDecay));
        }

        GC.KeepAlive(_expAvg);
        GC.KeepAlive(_expAvgSq);
    }

    /// <summary>Drops (or zeroes) the gradients of all parameters.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _parameters)
        {
            p.ZeroGrad(setToNone);
        }
    }

    /// <summary>
    /// The optimiser state: <c>step.{i}</c> (int64 scalars), <c>exp_avg.{i}</c> and <c>exp_avg_sq.{i}</c> for parameter i.
    /// Values are copies owned by the caller.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        EnsureState();
        var result = new Dictionary<string, Tensor>();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            result["step." + key] = LibTorch.Full([], _steps[i], ScalarType.Int64).DetachFromDisposeScope();
            result["exp_avg." + key] = _expAvg![i].Clone().DetachFromDisposeScope();
            result["exp_avg_sq." + key] = _expAvgSq![i].Clone().DetachFromDisposeScope();
        }

        return result;
    }

    /// <summary>Restores state from <see cref="StateDict"/>; every entry must be present with the parameter's shape.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        EnsureState();
        var steps = new long[_parameters.Length];
        for (var i = 0; i < _parameters.Length; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            steps[i] = Get(state, "step." + key, []).ToInt64();
            Get(state, "exp_avg." + key, _parameters[i].Shape);
            Get(state, "exp_avg_sq." + key, _parameters[i].Shape);
        }

        using var noGrad = Autograd.NoGrad();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            _expAvg![i].CopyFrom(state["exp_avg." + key]);
            _expAvgSq![i].CopyFrom(state["exp_avg_sq." + key]);
        }

        steps.CopyTo(_steps, 0);
    }

    /// <summary>Releases the state tensors (not the parameters).</summary>
    public void Dispose()
    {
        foreach (var t in (_expAvg ?? []).Concat(_expAvgSq ?? []))
        {
            t.Dispose();
        }
    }

    private static Tensor Get(IReadOnlyDictionary<string, Tensor> state, string key, long[] shape)
    {
        if (!state.TryGetValue(key, out var t))
        {
            throw new ArgumentException($"AdamW state is missing '{key}'.", nameof(state));
        }

        if (!t.Shape.AsSpan().SequenceEqual(shape))
        {
            throw new ArgumentException($"AdamW state '{key}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}].", nameof(state));
        }

        return t;
    }

    private void EnsureState()
    {
        if (_expAvg is not null)
        {
            return;
        }

        using var noGrad = Autograd.NoGrad();
        _expAvg = [.. _parameters.Select(p => LibTorch.ZerosLike(p).DetachFromDisposeScope())];
        _expAvgSq = [.. _parameters.Select(p => LibTorch.ZerosLike(p).DetachFromDisposeScope())];
    }

    private static void CheckRange(double value, double low, double high, string name)
    {
        if (!(value >= low && value < high))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{low}, {high}).");
        }
    }
}
