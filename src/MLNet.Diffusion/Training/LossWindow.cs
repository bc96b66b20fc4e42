namespace MLNet.Diffusion.Training;

/// <summary>
/// The one loss statistic of a run, wherever a loss is shown (progress, console, the report's curve and its final-loss row,
/// a model's training summary): the mean of the per-step loss over the last max(10, total steps / 50) steps. A trailing mean
/// over a stated window, unlike an exponential average, neither lags by an unstated amount nor depends on where a resume
/// restarted it, and at the last step it is the final loss.
/// </summary>
public static class LossWindow
{
    /// <summary>The fewest steps averaged, for short runs.</summary>
    public const int MinSteps = 10;

    /// <summary>The window of a run of <paramref name="totalSteps"/> steps: max(10, totalSteps / 50), in steps.</summary>
    /// <param name="totalSteps">The run's optimiser steps in all, ≥ 0.</param>
    public static int Size(long totalSteps) => (int)Math.Min(int.MaxValue, Math.Max(MinSteps, totalSteps / 50));

    /// <summary>
    /// The mean of <paramref name="losses"/>[end − window + 1 … end] (fewer at the start of the run), or NaN when
    /// <paramref name="end"/> is before the first loss.
    /// </summary>
    /// <param name="losses">Per-step losses, oldest first.</param>
    /// <param name="window">The window, ≥ 1 (<see cref="Size"/>).</param>
    /// <param name="end">The index of the last loss averaged; null: the last one.</param>
    public static double Mean(IReadOnlyList<double> losses, int window, int? end = null)
    {
        ArgumentNullException.ThrowIfNull(losses);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var last = end ?? (losses.Count - 1);
        if (last < 0 || last >= losses.Count)
        {
            return double.NaN;
        }

        var first = Math.Max(0, last - window + 1);
        var sum = 0.0;
        for (var i = first; i <= last; i++)
        {
            sum += losses[i];
        }

        return sum / (last - first + 1);
    }

    /// <summary>The trailing mean at every step: element i is <see cref="Mean"/> ending at i (one pass, O(n)).</summary>
    /// <param name="losses">Per-step losses, oldest first.</param>
    /// <param name="window">The window, ≥ 1.</param>
    public static double[] Curve(IReadOnlyList<double> losses, int window)
    {
        ArgumentNullException.ThrowIfNull(losses);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var curve = new double[losses.Count];
        var sum = 0.0;
        for (var i = 0; i < losses.Count; i++)
        {
            sum += losses[i];
            if (i >= window)
            {
                sum -= losses[i - window];
            }

            curve[i] = sum / Math.Min(i + 1, window);
        }

        return curve;
    }
}
