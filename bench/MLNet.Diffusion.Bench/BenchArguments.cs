namespace MLNet.Diffusion.Bench;

/// <summary>Reading the benchmarks' own arguments, which the CLI passes on as they were written.</summary>
internal static class BenchArguments
{
    /// <summary>The value after <paramref name="name"/> in <paramref name="args"/>, or null when the option is absent.</summary>
    public static string? Value(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] == name)
            {
                return args[i + 1];
            }
        }

        return null;
    }
}
