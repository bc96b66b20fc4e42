namespace MLNet.Diffusion.ForwardProcess;

/// <summary>The β_t layouts as pure functions, computed in double precision.</summary>
internal static class BetaSchedules
{
    /// <summary>Evenly spaced β from <paramref name="start"/> to <paramref name="end"/> inclusive.</summary>
    public static double[] Linear(int timesteps, double start, double end) => Linspace(start, end, timesteps);

    /// <summary>β = (evenly spaced √β from √start to √end)².</summary>
    public static double[] ScaledLinear(int timesteps, double start, double end) =>
        Linspace(Math.Sqrt(start), Math.Sqrt(end), timesteps).Select(b => b * b).ToArray();

    /// <summary>
    /// Improved DDPM's cosine schedule: β_t = min(1 − ᾱ(t)/ᾱ(t−1), maxBeta) with ᾱ(t) = f(t)/f(0),
    /// f(t) = cos²(((t/T + s)/(1 + s))·π/2) (Nichol &amp; Dhariwal 2021, eq. 17).
    /// </summary>
    public static double[] Cosine(int timesteps, double offset = 0.008, double maxBeta = 0.999)
    {
        double F(double t) => Math.Pow(Math.Cos((t / timesteps + offset) / (1 + offset) * Math.PI / 2), 2);
        var betas = new double[timesteps];
        for (var i = 0; i < timesteps; i++)
        {
            betas[i] = Math.Min(1 - (F(i + 1) / F(i)), maxBeta);
        }

        return betas;
    }

    /// <summary>β = start + (end − start)·sigmoid(x), x evenly spaced over [−6, 6].</summary>
    public static double[] Sigmoid(int timesteps, double start, double end) =>
        Linspace(-6, 6, timesteps).Select(x => start + ((end - start) / (1 + Math.Exp(-x)))).ToArray();

    /// <summary>
    /// Rescales β so that ᾱ_T = 0 and ᾱ_1 is unchanged, by shifting and scaling √ᾱ linearly
    /// (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps Are Flawed", Algorithm 1).
    /// </summary>
    public static double[] RescaleZeroTerminalSnr(IReadOnlyList<double> betas)
    {
        ArgumentNullException.ThrowIfNull(betas);
        var sqrtAlphaBar = new double[betas.Count];
        var product = 1.0;
        for (var i = 0; i < betas.Count; i++)
        {
            product *= 1 - betas[i];
            sqrtAlphaBar[i] = Math.Sqrt(product);
        }

        var first = sqrtAlphaBar[0];
        var last = sqrtAlphaBar[^1];
        var result = new double[betas.Count];
        var previous = 1.0;
        for (var i = 0; i < betas.Count; i++)
        {
            var shifted = (sqrtAlphaBar[i] - last) * first / (first - last);
            var alphaBar = shifted * shifted;
            result[i] = 1 - (alphaBar / previous);  // β_t = 1 − ᾱ_t/ᾱ_{t−1}; the first keeps its value
            previous = alphaBar;
        }

        return result;
    }

    private static double[] Linspace(double start, double end, int count)
    {
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = count == 1 ? start : start + ((end - start) * i / (count - 1));
        }

        return values;
    }
}
