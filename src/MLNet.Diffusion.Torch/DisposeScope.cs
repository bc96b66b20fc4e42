namespace MLNet.Diffusion.Torch;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost open scope, and disposes them when it
/// is disposed. Results that must outlive the scope are moved out with <see cref="MoveToOuter(Tensor)"/>
/// (or <see cref="Tensor.MoveToOuterScope"/>). Scopes nest and must be disposed innermost first.
/// </summary>
/// <example>
/// <code>
/// Tensor loss;
/// using (var scope = LibTorch.NewDisposeScope())
/// {
///     var y = model.Forward(x);                       // intermediates belong to the scope
///     loss = scope.MoveToOuter(Functional.MseLoss(y, target));
/// }                                                   // intermediates freed here
/// </code>
/// </example>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic]
    private static DisposeScope? t_current;

    private readonly DisposeScope? _outer;
    private readonly List<Tensor> _owned = [];
    private bool _disposed;

    /// <summary>Opens a scope on the current thread.</summary>
    public DisposeScope()
    {
        _outer = t_current;
        t_current = this;
    }

    /// <summary>The innermost open scope of this thread, or null.</summary>
    public static DisposeScope? Current => t_current;

    /// <summary>The number of tensors this scope still owns.</summary>
    public int OwnedCount => _owned.Count(t => ReferenceEquals(t.OwningScope, this) && !t.IsDisposed);

    /// <summary>Moves a tensor to the enclosing scope (or to no scope, at the outermost level) and returns it.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!ReferenceEquals(tensor.OwningScope, this))
        {
            throw new InvalidOperationException("The tensor is not owned by this scope.");
        }

        tensor.OwningScope = null;
        _outer?.Attach(tensor);
        return tensor;
    }

    /// <summary>Releases the tensor from this scope's ownership entirely; the caller disposes it.</summary>
    public Tensor Detach(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (ReferenceEquals(tensor.OwningScope, this))
        {
            tensor.OwningScope = null;
        }

        return tensor;
    }

    internal void Attach(Tensor tensor)
    {
        tensor.OwningScope = this;
        _owned.Add(tensor);
    }

    /// <summary>Disposes every tensor still owned and makes the enclosing scope current again.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        if (!ReferenceEquals(t_current, this))
        {
            throw new InvalidOperationException(
                "Dispose scopes must be disposed on the thread that opened them, innermost first.");
        }

        _disposed = true;
        foreach (var tensor in _owned)
        {
            if (ReferenceEquals(tensor.OwningScope, this))
            {
                tensor.OwningScope = null;
                tensor.Dispose();
            }
        }

        _owned.Clear();
        t_current = _outer;
    }
}
