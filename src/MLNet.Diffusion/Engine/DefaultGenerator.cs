using TorchSharp;

namespace MLNet.Diffusion.Engine;

/// <summary>torch's default generator, which building a module draws initial weights from and a training run's dropout also uses.</summary>
internal static class DefaultGenerator
{
    /// <summary>
    /// Runs <paramref name="make"/> (building a network, say) and puts the default generator back as it was, so that work done
    /// beside a training run, such as its sample grids and evaluations, changes nothing in it.
    /// </summary>
    public static T Preserving<T>(Func<T> make)
    {
        using var defaultRng = torch.Generator.Default;
        using var state = defaultRng.get_state().DetachFromDisposeScope();
        var made = make();
        defaultRng.set_state(state);
        return made;
    }
}
