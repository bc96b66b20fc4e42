namespace MLNet.Diffusion.Training;

/// <summary>What a list of class names must be, wherever one is set: the trainer's options, a checkpoint, a model.</summary>
internal static class ClassNameRules
{
    /// <summary>The names, checked: as many as the classes, none empty, none repeated, none "-1".</summary>
    public static string[] Check(IEnumerable<string> names, int? classes)
    {
        var list = names.ToArray();
        if (classes is not { } count)
        {
            throw new ArgumentException("An unconditional model has no classes to name.", nameof(names));
        }

        var problem = list.Length != count ? $"{list.Length} names for {count} classes"
            : list.FirstOrDefault(string.IsNullOrWhiteSpace) is not null ? "an empty name"
            : list.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice ? $"'{twice.Key}' twice"
            : list.Contains("-1") ? "a class named '-1', which reads as the unconditional label"
            : null;
        return problem is null ? list : throw new ArgumentException($"Class names must be one per class, distinct and not empty; got {problem}.", nameof(names));
    }
}
