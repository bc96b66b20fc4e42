namespace MLNet.Diffusion.Training;

/// <summary>
/// Reports on the calling thread, in order (<see cref="Progress{T}"/> posts to the thread pool and can reorder messages):
/// what the trainers and the CLI use to turn reports into log lines.
/// </summary>
/// <typeparam name="T">The report's type, e.g. <see cref="TrainingProgress"/>.</typeparam>
/// <param name="report">Called with each report, on the reporting thread.</param>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    /// <summary>Calls the action with <paramref name="value"/> before returning.</summary>
    public void Report(T value) => report(value);
}
