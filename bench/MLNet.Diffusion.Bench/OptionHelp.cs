namespace MLNet.Diffusion.Bench;

/// <summary>One option a benchmark reads, as its help shows it: <c>--name VALUE   text</c>.</summary>
/// <param name="Name">The option, with its dashes.</param>
/// <param name="Value">What its value is (<c>N</c>, <c>NAME</c>, ...), or null for a flag.</param>
/// <param name="Text">What it does, with its default.</param>
internal sealed record OptionHelp(string Name, string? Value, string Text)
{
    /// <summary>The option as it is written: its name, and its value's placeholder if it takes one.</summary>
    public string Usage => Value is null ? Name : $"{Name} {Value}";
}
