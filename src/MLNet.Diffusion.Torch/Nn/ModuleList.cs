using System.Collections;
using System.Globalization;

namespace MLNet.Diffusion.Torch.Nn;

/// <summary>An indexed list of submodules named 0, 1, 2, ...</summary>
/// <typeparam name="T">The module type.</typeparam>
public sealed class ModuleList<T> : Module, IReadOnlyList<T>
    where T : Module
{
    private readonly List<T> _items = [];

    /// <summary>Creates the list.</summary>
    public ModuleList(params T[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules)
        {
            Add(m);
        }
    }

    /// <summary>The number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>Module <paramref name="index"/>.</summary>
    public T this[int index] => _items[index];

    /// <summary>Appends a module under the next index.</summary>
    public void Add(T module) => _items.Add(RegisterModule(_items.Count.ToString(CultureInfo.InvariantCulture), module));

    /// <inheritdoc/>
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
