using System.Diagnostics;

namespace MLNet.Diffusion.Bench;

/// <summary>Wall-clock timing of steps, and the order statistics the report uses.</summary>
internal static class Timing
{
    /// <summary>Runs <paramref name="step"/> <paramref name="iterations"/> times; each step's wall time in milliseconds.</summary>
    public static double[] Measure(int iterations, Action step)
    {
        var ms = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            step();
            ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        return ms;
    }

    /// <summary>Runs <paramref name="step"/> once; its wall time in milliseconds.</summary>
    public static double Once(Action step) => Measure(1, step)[0];

    /// <summary>The median (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values) => Quantile(values, 0.5);

    /// <summary>The <paramref name="q"/>-quantile with linear interpolation between order statistics.</summary>
    public static double Quantile(IEnumerable<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }
}
