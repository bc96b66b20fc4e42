namespace MLNet.Diffusion.Torch.Nn;

/// <summary>
/// A network building block that owns parameters, buffers and submodules under dotted state-dict names
/// (<c>down.0.conv.weight</c>), as PyTorch's <c>nn.Module</c> does. Subclasses register their members in the
/// constructor, in a fixed order: that order is the order of <see cref="NamedParameters"/> and of the state dict.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _modules = [];
    private bool _disposed;

    /// <summary>Whether the module is in training mode (dropout active). New modules are.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Registers a trainable tensor; it is taken out of any dispose scope and set to require gradients.</summary>
    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        CheckNewName(name);
        parameter.DetachFromDisposeScope();
        parameter.RequiresGrad = true;
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    /// <summary>Registers a non-trainable tensor saved in the state dict (running statistics, fixed tables).</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckNewName(name);
        buffer.DetachFromDisposeScope();
        _buffers.Add(new(name, buffer));
        return buffer;
    }

    /// <summary>Registers a child module; its members appear under <c>name.</c> in the state dict.</summary>
    protected T RegisterModule<T>(string name, T module)
        where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckNewName(name);
        _modules.Add(new(name, module));
        return module;
    }

    /// <summary>The direct children, in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _modules;

    /// <summary>All parameters of this module and its descendants with their dotted names.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters() => Walk(m => m._parameters);

    /// <summary>All buffers of this module and its descendants with their dotted names.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedBuffers() => Walk(m => m._buffers);

    /// <summary>All parameters, in state-dict order.</summary>
    public IReadOnlyList<Tensor> Parameters() => NamedParameters().Select(p => p.Value).ToList();

    /// <summary>The number of trainable scalars.</summary>
    public long ParameterCount => NamedParameters().Sum(p => p.Value.NumberOfElements);

    /// <summary>
    /// Parameters and buffers by dotted name, in registration order. The values are the module's own tensors
    /// (not copies): do not dispose them.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in NamedParameters().Concat(NamedBuffers()))
        {
            result.Add(name, tensor);
        }

        return result;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's tensors (converting type and device).
    /// With <paramref name="strict"/>, every entry must match a member and every member must be present;
    /// one <see cref="ArgumentException"/> lists all missing, unexpected and mis-shaped entries. Nothing is
    /// copied unless everything checks out.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var misShaped = new List<string>();
        foreach (var (name, target) in own)
        {
            if (state.TryGetValue(name, out var source))
            {
                var expected = target.Shape;
                var actual = source.Shape;
                if (!expected.AsSpan().SequenceEqual(actual))
                {
                    misShaped.Add($"{name}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}]");
                }
            }
        }

        var problems = new List<string>();
        if (strict && missing.Count > 0) problems.Add("missing: " + string.Join(", ", missing));
        if (strict && unexpected.Count > 0) problems.Add("unexpected: " + string.Join(", ", unexpected));
        if (misShaped.Count > 0) problems.Add("wrong shape: " + string.Join("; ", misShaped));
        if (problems.Count > 0)
        {
            throw new ArgumentException($"The state dict does not fit {GetType().Name}: {string.Join(". ", problems)}.", nameof(state));
        }

        using var noGrad = Autograd.NoGrad();
        foreach (var (name, target) in own)
        {
            if (state.TryGetValue(name, out var source))
            {
                target.CopyFrom(source);
            }
        }
    }

    /// <summary>Sets training mode on this module and its descendants; returns this module.</summary>
    public Module Train(bool training = true)
    {
        IsTraining = training;
        foreach (var (_, child) in _modules)
        {
            child.Train(training);
        }

        return this;
    }

    /// <summary>Sets evaluation mode (dropout off); returns this module.</summary>
    public Module Eval() => Train(false);

    /// <summary>Moves every parameter and buffer to <paramref name="device"/>, keeping the tensor objects.</summary>
    public Module To(Device device)
    {
        device.EnsureAvailable();
        return Apply(t => t.To(device));
    }

    /// <summary>Converts every floating-point parameter and buffer to <paramref name="dtype"/>.</summary>
    public Module To(ScalarType dtype)
    {
        if (!dtype.IsFloatingPoint())
        {
            throw new ArgumentException($"Modules can only be converted to floating-point types, not {dtype.Name()}.", nameof(dtype));
        }

        return Apply(t => t.Dtype.IsFloatingPoint() ? t.To(dtype) : null);
    }

    /// <summary>Drops (or zeroes) the gradient of every parameter.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var (_, p) in NamedParameters())
        {
            p.ZeroGrad(setToNone);
        }
    }

    /// <summary>Disposes the parameters, buffers and submodules.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases native tensors when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
        {
            return;
        }

        _disposed = true;
        foreach (var (_, t) in _parameters.Concat(_buffers))
        {
            t.Dispose();
        }

        foreach (var (_, m) in _modules)
        {
            m.Dispose();
        }
    }

    private Module Apply(Func<Tensor, Tensor?> convert)
    {
        using var noGrad = Autograd.NoGrad();
        foreach (var (_, t) in NamedParameters().Concat(NamedBuffers()))
        {
            using var converted = convert(t)?.DetachFromDisposeScope();
            if (converted is not null)
            {
                t.SetData(converted);
                t.ZeroGrad();
            }
        }

        return this;
    }

    private IEnumerable<KeyValuePair<string, Tensor>> Walk(Func<Module, List<KeyValuePair<string, Tensor>>> members, string prefix = "")
    {
        foreach (var (name, t) in members(this))
        {
            yield return new(prefix + name, t);
        }

        foreach (var (name, child) in _modules)
        {
            foreach (var entry in child.Walk(members, prefix + name + "."))
            {
                yield return entry;
            }
        }
    }

    private void CheckNewName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Member name '{name}' may not contain '.'.", nameof(name));
        }

        if (_parameters.Any(p => p.Key == name) || _buffers.Any(b => b.Key == name) || _modules.Any(m => m.Key == name))
        {
            throw new ArgumentException($"{GetType().Name} already has a member named '{name}'.", nameof(name));
        }
    }
}

/// <summary>A module with one input and one output.</summary>
/// <typeparam name="TInput">The input type.</typeparam>
/// <typeparam name="TOutput">The output type.</typeparam>
public abstract class Module<TInput, TOutput> : Module
{
    /// <summary>Computes the module's output.</summary>
    public abstract TOutput Forward(TInput input);
}
