namespace MLNet.Diffusion.Sampling;

/// <summary>
/// The initial noise x_T of a generated image as a pure function of (seed, element index): the same floats from
/// TorchSharp, from the ONNX graph (<c>Onnx/SeedNoiseGraph</c> computes it with integer and basic float ops) and from any
/// ONNX Runtime host, at any batch size and thread count. No engine's random generator is involved.
/// </summary>
/// <remarks>
/// <para>For element <c>j</c> (row-major index in the image's [C, H, W]) of the image with <c>seed</c>:</para>
/// <list type="number">
/// <item>Two 32-bit words <c>w₁ = word(2j)</c>, <c>w₂ = word(2j + 1)</c>, with
/// <c>word(c) = mix(mix(mix(c) ⊕ lo) ⊕ hi)</c>, <c>lo</c>/<c>hi</c> the seed's low and high 32 bits, and
/// <c>mix</c> the bijective 32-bit integer hash x ⊕= x≫16; x ×= 0x7feb352d; x ⊕= x≫15; x ×= 0x846ca68b; x ⊕= x≫16
/// (C. Wellons' "lowbias32", 2018). A counter-based generator in the sense of Salmon et al., "Parallel random numbers:
/// as easy as 1, 2, 3" (SC 2011): no state, any element computable alone.</item>
/// <item>Two uniforms from their top 24 bits: <c>u₁ = (w₁≫8 + 1)/2²⁴ ∈ (0, 1]</c>, <c>u₂ = (w₂≫8)/2²⁴ ∈ [0, 1)</c>.</item>
/// <item>The Box–Muller transform (Box and Muller, 1958): <c>z = √(−2 ln u₁) · cos(2π u₂)</c>, a standard normal.</item>
/// </list>
/// <para>ln and cos are evaluated in float32 by fixed polynomials using only +, −, ×, ÷ and √, each correctly rounded by
/// IEEE 754, in one fixed order, so every engine gets the same bits: ln u₁ = ln m + (e − 24)·ln 2 with
/// u₁·2²⁴ = m·2ᵉ, m ∈ [1, 2), ln m = 2s(1 + s²/3 + … + s¹⁴/15), s = (m − 1)/(m + 1) (|error| &lt; 1e-7); cos(2π u₂) by
/// quadrant (the top 2 of the 24 bits) and the Taylor series of cos and sin to degree 14/15 on [0, π/2).</para>
/// <para>|z| ≤ √(−2 ln 2⁻²⁴) ≈ 5.77: the tails beyond have probability 8e-9 per element, which sampling never misses.</para>
/// </remarks>
public static class SeedNoise
{
    /// <summary>Coefficients 1/(2k+1), k = 7 … 0, of the atanh series of ln m (highest first).</summary>
    internal static readonly float[] LogSeries = [1f / 15, 1f / 13, 1f / 11, 1f / 9, 1f / 7, 1f / 5, 1f / 3, 1f];

    /// <summary>Coefficients (−1)ᵏ/(2k)!, k = 7 … 0, of cos φ in powers of φ² (highest first).</summary>
    internal static readonly float[] CosSeries = Taylor(even: true);

    /// <summary>Coefficients (−1)ᵏ/(2k+1)!, k = 7 … 0, of sin φ / φ in powers of φ² (highest first).</summary>
    internal static readonly float[] SinSeries = Taylor(even: false);

    /// <summary>cos(qπ/2 + φ) = CosOfQuadrant[q]·cos φ + SinOfQuadrant[q]·sin φ.</summary>
    internal static readonly float[] CosOfQuadrant = [1, 0, -1, 0];

    /// <summary>See <see cref="CosOfQuadrant"/>.</summary>
    internal static readonly float[] SinOfQuadrant = [0, -1, 0, 1];

    internal const float Ln2 = 0.6931472f;
    internal const float HalfPi = 1.5707964f;

    /// <summary>Fills <paramref name="destination"/> with x_T of the image with <paramref name="seed"/>: element j of
    /// the image's row-major [C, H, W] values at index j.</summary>
    /// <param name="seed">The image's seed (any 64-bit value; ONNX graphs take seeds in [0, 2⁶³)).</param>
    /// <param name="destination">C·H·W floats, at most 2³¹ of them.</param>
    public static void Fill(ulong seed, Span<float> destination)
    {
        if (destination.Length > int.MaxValue / 2)
        {
            throw new ArgumentException($"An image has at most {int.MaxValue / 2} elements; got {destination.Length}.", nameof(destination));
        }

        var (lo, hi) = ((uint)seed, (uint)(seed >> 32));
        for (var j = 0; j < destination.Length; j++)
        {
            destination[j] = Normal(Word(lo, hi, (uint)(2 * j)) >> 8, Word(lo, hi, (uint)(2 * j) + 1) >> 8);
        }
    }

    /// <summary>The noise of several images: [seeds.Count · elements] floats, image i at i·elements.</summary>
    public static float[] Generate(IReadOnlyList<ulong> seeds, int elements)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentOutOfRangeException.ThrowIfLessThan(elements, 1);
        var all = new float[checked(seeds.Count * elements)];
        for (var i = 0; i < seeds.Count; i++)
        {
            Fill(seeds[i], all.AsSpan(i * elements, elements));
        }

        return all;
    }

    /// <summary>The bijective 32-bit hash <c>lowbias32</c> (see the remarks).</summary>
    internal static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7feb352d;
        x ^= x >> 15;
        x *= 0x846ca68b;
        x ^= x >> 16;
        return x;
    }

    internal static uint Word(uint lo, uint hi, uint counter) => Mix(Mix(Mix(counter) ^ lo) ^ hi);

    /// <summary>Box–Muller on two 24-bit integers (see the remarks); every float operation in the graph's order.</summary>
    internal static float Normal(uint bits1, uint bits2)
    {
        // −2 ln u₁, u₁ = n/2²⁴, n = m·2ᵉ.
        float n = bits1 + 1;
        var e = 0;
        while (e < 24 && n >= (float)(1 << (e + 1)))
        {
            e++;
        }

        var m = n * (1f / (1 << e));
        var s = (m - 1) / (m + 1);
        var s2 = s * s;
        var p = Horner(LogSeries, s2);
        var lnM = (s + s) * p;
        var lnU = lnM + ((e - 24f) * Ln2);
        var r = MathF.Sqrt(lnU * -2f);

        // cos(2π u₂) = cos(qπ/2 + φ), φ = f·π/2, f ∈ [0, 1).
        var quadrant = (int)(bits2 >> 22);
        var f = (bits2 & 0x3FFFFF) * (1f / (1 << 22));
        var phi = f * HalfPi;
        var phi2 = phi * phi;
        var cos = Horner(CosSeries, phi2);
        var sin = phi * Horner(SinSeries, phi2);
        var v = (CosOfQuadrant[quadrant] * cos) + (SinOfQuadrant[quadrant] * sin);
        return r * v;
    }

    /// <summary>((c₀·x + c₁)·x + c₂)… with one rounding per × and per +, as the graph's Mul and Add nodes.</summary>
    internal static float Horner(float[] coefficients, float x)
    {
        var p = coefficients[0];
        for (var i = 1; i < coefficients.Length; i++)
        {
            p = (p * x) + coefficients[i];
        }

        return p;
    }

    private static float[] Taylor(bool even)
    {
        var result = new float[8];
        for (var k = 0; k < 8; k++)
        {
            var factorial = 1.0;
            for (var i = 2; i <= 2 * k + (even ? 0 : 1); i++)
            {
                factorial *= i;
            }

            result[7 - k] = (float)((k % 2 == 0 ? 1 : -1) / factorial);
        }

        return result;
    }
}
