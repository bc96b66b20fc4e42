using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace MLNet.Diffusion.Bench;

/// <summary>The options a command line gave, by name, and their values read and checked against what each accepts.</summary>
internal sealed class BenchArguments(IReadOnlyDictionary<string, string?> given)
{
    /// <summary>Whether the flag or option <paramref name="name"/> was given.</summary>
    public bool Has(string name) => given.ContainsKey(name);

    /// <summary>The text after <paramref name="name"/>, or <paramref name="fallback"/> when the option is absent.</summary>
    [return: NotNullIfNotNull(nameof(fallback))]
    public string? Text(string name, string? fallback) => given.GetValueOrDefault(name) ?? fallback;

    /// <summary>The whole number after <paramref name="name"/>, at least <paramref name="least"/>; <paramref name="fallback"/> when absent.</summary>
    public int Count(string name, int least, int fallback) => OptionalCount(name, least, fallback) ?? fallback;

    /// <summary>The whole number after <paramref name="name"/>, at least <paramref name="least"/>; <paramref name="fallback"/> (which may be null) when absent.</summary>
    public int? OptionalCount(string name, int least, int? fallback) => given.GetValueOrDefault(name) is { } text
        ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= least
            ? value
            : throw new ArgumentException($"{name} needs a whole number ≥ {least}, not '{text}'.")
        : fallback;

    /// <summary>The UNet preset after <c>--preset</c>, one of <see cref="Models.UNetConfig.PresetNames"/>.</summary>
    public string Preset(string fallback) => given.GetValueOrDefault("--preset") is { } preset
        ? Models.UNetConfig.PresetNames.Contains(preset)
            ? preset
            : throw new ArgumentException($"--preset takes one of {string.Join(", ", Models.UNetConfig.PresetNames)}, not '{preset}'.")
        : fallback;

    /// <summary>Whether <c>--malloc</c> asks for steady thresholds ('steady') or glibc's own ('default').</summary>
    public bool SteadyMalloc(bool fallback) => given.GetValueOrDefault("--malloc") switch
    {
        null => fallback,
        "steady" => true,
        "default" => false,
        var mode => throw new ArgumentException($"--malloc takes 'steady' or 'default', not '{mode}'."),
    };

    /// <summary>The workloads of <c>--workloads</c>, in the order they run.</summary>
    public IReadOnlyList<string> Workloads(IReadOnlyList<string> fallback)
    {
        if (given.GetValueOrDefault("--workloads") is not { } text)
        {
            return fallback;
        }

        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = list.Where(w => !BenchOptions.WorkloadNames.Contains(w)).ToList();
        return list.Length > 0 && unknown.Count == 0
            ? [.. BenchOptions.WorkloadNames.Where(list.Contains)]
            : throw new ArgumentException($"--workloads takes a comma-separated list from {string.Join(", ", BenchOptions.WorkloadNames)}; '{string.Join(", ", unknown)}' is not one.");
    }

    /// <summary>The image counts of <c>--folder-sizes</c>, zeros dropped.</summary>
    public IReadOnlyList<int> FolderSizes(IReadOnlyList<int> fallback)
    {
        if (given.GetValueOrDefault("--folder-sizes") is not { } text)
        {
            return fallback;
        }

        var sizes = new List<int>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            sizes.Add(int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                ? size
                : throw new ArgumentException($"--folder-sizes takes comma-separated whole numbers ≥ 0 (0: no folder), not '{text}'."));
        }

        return [.. sizes.Where(s => s > 0)];
    }
}
