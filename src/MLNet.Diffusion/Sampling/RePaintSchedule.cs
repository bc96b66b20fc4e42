namespace MLNet.Diffusion.Sampling;

/// <summary>
/// RePaint's jump schedule (Lugmayr et al. 2022, section 4.2 and Algorithm 1): the order of the moves over a grid of
/// <c>steps</c> time indices (steps − 1 the noisiest, 0 the least noisy, −1 clean data). A move (from, to) with to &lt; from
/// is a denoising step (a network pass); to &gt; from is a jump back up through the forward process. Going down, every
/// <c>jumpLength</c> indices from 0 to steps − jumpLength − 1 are jump points: on reaching one, the walk goes back up
/// jumpLength indices and down again, jumpCount − 1 times in all.
/// </summary>
public static class RePaintSchedule
{
    /// <summary>The moves, in order, starting from index steps − 1 (x_T) and ending at −1 (clean).</summary>
    /// <param name="steps">Grid steps, ≥ 1.</param>
    /// <param name="jumpLength">Indices per jump, ≥ 1.</param>
    /// <param name="jumpCount">Passes over each stretch, ≥ 1 (1: no jumps).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    public static IReadOnlyList<(int From, int To)> Create(int steps, int jumpLength, int jumpCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(jumpLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(jumpCount, 1);
        var jumpsLeft = new Dictionary<int, int>();
        for (var j = 0; j < steps - jumpLength; j += jumpLength)
        {
            jumpsLeft[j] = jumpCount - 1;
        }

        var times = new List<int>();
        var t = steps;
        while (t >= 1)
        {
            t--;
            times.Add(t);
            if (jumpsLeft.TryGetValue(t, out var left) && left > 0)
            {
                jumpsLeft[t] = left - 1;
                for (var k = 0; k < jumpLength; k++)
                {
                    t++;
                    times.Add(t);
                }
            }
        }

        times.Add(-1);
        return [.. times.Zip(times.Skip(1))];
    }

    /// <summary>The network passes of a schedule: its denoising moves.</summary>
    public static int NetworkPasses(int steps, int jumpLength, int jumpCount) => Create(steps, jumpLength, jumpCount).Count(m => m.To < m.From);
}
