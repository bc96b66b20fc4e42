namespace MLNet.Diffusion.Pipelines;

/// <summary>One message of a <see cref="DiffusionContext.Log"/>: which component wrote it, and what it says.</summary>
/// <param name="Source">The component, e.g. <c>DiffusionTrainer</c>.</param>
/// <param name="Message">One line of text.</param>
public sealed class DiffusionLogEventArgs(string Source, string Message) : EventArgs
{
    /// <summary>The component that wrote the message.</summary>
    public string Source { get; } = Source;

    /// <summary>The message, one line.</summary>
    public string Message { get; } = Message;

    /// <summary>"Source: Message".</summary>
    public override string ToString() => $"{Source}: {Message}";
}
