namespace MLNet.Diffusion.Training;

/// <summary>
/// Reports on the calling thread, in order (<see cref="Progress{T}"/> posts to the thread pool and can reorder messages):
/// what the trainers and the CLI use to turn reports into log lines.
/// </summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
