using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// An exponential moving average of a module's parameters (and a copy of its buffers):
/// <c>ema ← ema + (1 − decay)·(θ − ema)</c>, one in-place lerp per tensor in one native call.
/// </summary>
internal sealed class ExponentialMovingAverage : IDisposable
{
    private readonly string[] _names;
    private readonly Tensor[] _shadow;
    private double _decay;

    /// <summary>Starts the average at the module's current values.</summary>
    public ExponentialMovingAverage(nn.Module module, double decay = 0.9999)
    {
        ArgumentNullException.ThrowIfNull(module);
        Decay = decay;
        using var noGrad = torch.no_grad();
        var state = module.state_dict();
        _names = [.. state.Keys];
        using var scope = torch.NewDisposeScope();
        _shadow = [.. state.Values.Select(t => scope.Detach(t.detach().clone()))];
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
    public void Update(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var current = module.state_dict();
        var sources = new Tensor[_names.Length];
        for (var i = 0; i < _names.Length; i++)
        {
            if (!current.TryGetValue(_names[i], out var t))
            {
                throw new ArgumentException($"The module has no '{_names[i]}' to average.", nameof(module));
            }

            sources[i] = t;
        }

        // ema ← ema + (1 − decay)(param − ema), an in-place lerp; integer buffers are copied.
        // TorchSharp's lerp_ takes the weight as a tensor only: a double would become a new tensor per parameter, never
        // disposed. One (float64, as that conversion makes it) serves every parameter.
        using var noGrad = torch.no_grad();
        using var weight = torch.tensor(1.0 - Decay);
        for (var i = 0; i < _names.Length; i++)
        {
            if (_shadow[i].is_floating_point())
            {
                _shadow[i].lerp_(sources[i], weight);
            }
            else
            {
                _shadow[i].copy_(sources[i]);
            }
        }
    }

    /// <summary>Copies the averaged values into <paramref name="module"/> (e.g. a copy used for sampling).</summary>
    public void CopyTo(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        module.load_state_dict(StateDict().ToDictionary(p => p.Key, p => p.Value));
    }

    /// <summary>
    /// The averaged values as a new network of <paramref name="config"/> on <paramref name="device"/>, in eval mode, built
    /// without drawing from the default generator (<see cref="DefaultGenerator.Preserving"/>): sample grids and evaluations
    /// take it beside the run and change nothing in it. The caller disposes it.
    /// </summary>
    public UNet2D ToNetwork(UNetConfig config, Device device)
    {
        var network = DefaultGenerator.Preserving(() => new UNet2D(config));
        network.to(device);
        CopyTo(network);
        network.eval();
        return network;
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

        using var noGrad = torch.no_grad();
        for (var i = 0; i < _names.Length; i++)
        {
            _shadow[i].copy_(state[_names[i]]);
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
