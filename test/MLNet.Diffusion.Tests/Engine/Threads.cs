using TorchSharp;

namespace MLNet.Diffusion.Tests.Engine;

/// <summary>Runs test code on a given number of libtorch intra-op threads, restoring the process's count after.</summary>
internal static class Threads
{
    /// <summary><paramref name="action"/>'s result, computed with <c>torch.set_num_threads(threads)</c> in force.</summary>
    public static T With<T>(int threads, Func<T> action)
    {
        var before = torch.get_num_threads();
        torch.set_num_threads(threads);
        try
        {
            return action();
        }
        finally
        {
            torch.set_num_threads(before);  // process-wide: the tests after this one keep theirs
        }
    }
}
