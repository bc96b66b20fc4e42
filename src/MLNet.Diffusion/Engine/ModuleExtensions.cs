using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Engine;

/// <summary>State-dict loading with one clear error, parameter counts and gradient zeroing, for any TorchSharp module.</summary>
internal static class ModuleExtensions
{
    /// <summary>The number of scalar parameters of <paramref name="module"/> and its submodules.</summary>
    public static long ParameterCount(this nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.parameters().Sum(p => p.NumberOfElements);
    }

    /// <summary>
    /// Sets the gradients of <paramref name="module"/>'s parameters to zero (parameters without one are left alone), as
    /// an optimiser's <c>zero_grad</c> does, without its leak: TorchSharp 0.107's <c>zero_()</c> returns a new tensor per
    /// parameter that only the finalizer would free.
    /// </summary>
    public static void ZeroGrad(this nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        foreach (var parameter in module.parameters())
        {
            using var grad = parameter.grad;
            grad?.fill_(0);
        }
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into <paramref name="module"/>'s parameters and buffers (converting
    /// type and device). With <paramref name="strict"/>, every entry must match a member and every member must be
    /// present. Nothing is copied unless everything checks out.
    /// </summary>
    /// <exception cref="ArgumentException">One message listing every missing, unexpected and mis-shaped entry.</exception>
    public static void LoadStateDict(this nn.Module module, IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(state);
        var own = module.state_dict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var misShaped = new List<string>();
        foreach (var (name, target) in own)
        {
            if (state.TryGetValue(name, out var source) && !target.shape.AsSpan().SequenceEqual(source.shape))
            {
                misShaped.Add($"{name}: expected [{string.Join(", ", target.shape)}], got [{string.Join(", ", source.shape)}]");
            }
        }

        var problems = new List<string>();
        if (strict && missing.Count > 0) problems.Add("missing: " + string.Join(", ", missing));
        if (strict && unexpected.Count > 0) problems.Add("unexpected: " + string.Join(", ", unexpected));
        if (misShaped.Count > 0) problems.Add("wrong shape: " + string.Join("; ", misShaped));
        if (problems.Count > 0)
        {
            throw new ArgumentException($"The state dict does not fit {module.GetType().Name}: {string.Join(". ", problems)}.", nameof(state));
        }

        using var noGrad = torch.no_grad();
        foreach (var (name, target) in own)
        {
            if (state.TryGetValue(name, out var source))
            {
                target.copy_(source);
            }
        }
    }
}
