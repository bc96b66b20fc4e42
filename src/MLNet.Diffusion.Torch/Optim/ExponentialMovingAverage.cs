using MLNet.Diffusion.Torch.Interop;
using MLNet.Diffusion.Torch.Nn;

namespace MLNet.Diffusion.Torch.Optim;

/// <summary>
/// An exponential moving average of a module's parameters (and a copy of its buffers):
/// <c>ema ← ema + (1 − decay)·(θ − ema)</c>, one in-place lerp per tensor in one native call.
/// </summary>
public sealed unsafe class ExponentialMovingAverage : IDisposable
{
    private readonly string[] _names;
    private readonly Tensor[] _shadow;
    private double _decay;

    /// <summary>Starts the average at the module's current values.</summary>
    public ExponentialMovingAverage(Module module, double decay = 0.9999)
    {
        ArgumentNullException.ThrowIfNull(module);
        Decay = decay;
        using var noGrad = Autograd.NoGrad();
        var state = module.StateDict();
        _names = [.. state.Keys];
        using var scope = LibTorch.NewDisposeScope();
        _shadow = [.. state.Values.Select(t => scope.Detach(t.Detach().Clone()))];
    }

    /// <summary>The decay; warm-up schedules change it between updates.</summary>
    public double Decay
    {
        get => _decay;
        set
        {
            if (!(value >= 0 && value <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "EMA decay must be in [0, 1].");
            }

            _decay = value;
        }
    }

    /// <summary>The averaged tensors by state-dict name (owned by this object).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() => _names.Zip(_shadow).ToDictionary(p => p.First, p => p.Second);

    /// <summary>Moves the average towards <paramref name="module"/>'s current values (buffers are copied).</summary>
    public void Update(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var current = module.StateDict();
        var sources = new Tensor[_names.Length];
        for (var i = 0; i < _names.Length; i++)
        {
            if (!current.TryGetValue(_names[i], out var t))
            {
                throw new ArgumentException($"The module has no '{_names[i]}' to average.", nameof(module));
            }

            sources[i] = t;
        }

        var e = LibTorch.Handles(_shadow, "ema");
        var s = LibTorch.Handles(sources, nameof(module));
        fixed (IntPtr* ep = e)
        fixed (IntPtr* sp = s)
        {
            LibTorch.Check(Native.mlnd_ema_update(ep, sp, e.Length, Decay));
        }

        GC.KeepAlive(sources);
    }

    /// <summary>Copies the averaged values into <paramref name="module"/> (e.g. a copy used for sampling).</summary>
    public void CopyTo(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        module.LoadStateDict(StateDict());
    }

    /// <summary>Restores averaged values saved from <see cref="StateDict"/>.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var name in _names)
        {
            if (!state.ContainsKey(name))
            {
                throw new ArgumentException($"The EMA state is missing '{name}'.", nameof(state));
            }
        }

        using var noGrad = Autograd.NoGrad();
        for (var i = 0; i < _names.Length; i++)
        {
            _shadow[i].CopyFrom(state[_names[i]]);
        }
    }

    /// <summary>Releases the averaged tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _shadow)
        {
            t.Dispose();
        }
    }
}
