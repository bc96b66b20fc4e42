using MLNet.Diffusion.Engine;
using MLNet.Diffusion.ForwardProcess;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// What a trained model does to images it is given, on the sampler's discrete grid: image-to-image (SDEdit, Meng et al.
/// 2022), deterministic inpainting, and RePaint (Lugmayr et al. 2022). Images and results are [B, C, H, W] in the model's
/// space [−1, 1]; a mask is [B or 1, 1 or C, H, W] holding exactly 0 (generate) and 1 (keep), RePaint's convention. Every
/// method draws x_T from <see cref="SamplingNoise.Initial"/>, so the same seed gives the same start as generation.
/// </summary>
public static class ImageEditing
{
    /// <summary>
    /// SDEdit as diffusers defines strength: with the sampler's grid of <paramref name="steps"/>, runs its last
    /// ⌊steps × strength⌋ timesteps, starting from the images noised to the first of them with the seed's x_T:
    /// x = √ᾱ_t·x₀ + √(1 − ᾱ_t)·x_T. Strength 0 returns a copy of the images; strength 1 starts from x_T itself (the image's
    /// weight √ᾱ_T is about 0.006 on the linear schedule), so it is generation with the same seed, bit for bit.
    /// </summary>
    /// <param name="sampler">Any sampler (its timesteps are set here).</param>
    /// <param name="denoiser">The network (with labels and guidance).</param>
    /// <param name="images">x₀ [B, C, H, W] in [−1, 1].</param>
    /// <param name="noise">One seed per image (its <see cref="SamplingNoise.Initial"/> is x_T); stochastic samplers draw from it too.</param>
    /// <param name="steps">The grid's steps, ≥ 1.</param>
    /// <param name="strength">How much of the grid runs, 0 to 1.</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside [0, 1] or <paramref name="steps"/> below 1.</exception>
    public static Tensor ImageToImage(IDiffusionSampler sampler, Denoiser denoiser, Tensor images, SamplingNoise noise, int steps, double strength,
        CancellationToken cancellationToken = default)
    {
        Check(sampler, denoiser, images, noise, steps);
        CheckStrength(strength, nameof(strength));

        sampler.SetTimesteps(steps);
        var grid = sampler.Timesteps;
        var count = (int)Math.Floor(grid.Count * strength);
        if (count == 0)
        {
            return images.clone();
        }

        var run = grid.Skip(grid.Count - count).ToArray();
        ((DiffusionSampler)sampler).StartAt(run[0]);
        using var scope = torch.NewDisposeScope();
        var initial = noise.Initial(images.shape, images.dtype).to(images.device);
        var start = count == grid.Count ? initial : Noised(images, initial, sampler, run[0]);
        return scope.MoveToOuter(SamplingLoop.From(sampler, denoiser, start, run, noise, null, null, cancellationToken));
    }

    /// <summary>
    /// Deterministic inpainting for any deterministic sampler (DDIM with η = 0, DPM-Solver++): generation from x_T in which,
    /// before the first step and after every step, the kept pixels are replaced by the images noised to the timestep reached with
    /// the same x_T (√ᾱ_t·x₀ + √(1 − ᾱ_t)·x_T; after the last step ᾱ = 1, so the kept pixels are the images' exactly). No
    /// resampling: cheap and exportable, at some cost in coherence at the mask's edge.
    /// </summary>
    /// <param name="sampler">The sampler (its timesteps are set here).</param>
    /// <param name="denoiser">The network (with labels and guidance).</param>
    /// <param name="images">x₀ [B, C, H, W] in [−1, 1].</param>
    /// <param name="mask">1 where the image is kept, 0 where it is generated; broadcast to the images' shape.</param>
    /// <param name="noise">One seed per image: x_T.</param>
    /// <param name="steps">The sampler's steps, ≥ 1.</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    /// <exception cref="ArgumentException">The mask does not broadcast to the images, or holds a value other than 0 and 1.</exception>
    public static Tensor Inpaint(IDiffusionSampler sampler, Denoiser denoiser, Tensor images, Tensor mask, SamplingNoise noise, int steps,
        CancellationToken cancellationToken = default)
    {
        Check(sampler, denoiser, images, noise, steps);
        using var scope = torch.NewDisposeScope();
        var keep = Mask(mask, images);
        sampler.SetTimesteps(steps);
        var initial = noise.Initial(images.shape, images.dtype).to(images.device);
        Tensor Known(Tensor x, int t) => torch.where(keep, Noised(images, initial, sampler, t), x);
        var start = Known(initial, sampler.Timesteps[0]);
        return scope.MoveToOuter(SamplingLoop.From(sampler, denoiser, start, sampler.Timesteps, noise, Known, null, cancellationToken));
    }

    /// <summary>
    /// RePaint (Lugmayr et al. 2022, Algorithm 1 with its jump schedule): DDPM ancestral steps over a grid of
    /// <paramref name="steps"/> timesteps, the kept pixels replaced after each step by the images noised to the timestep reached with
    /// fresh noise, and every <paramref name="jumpLength"/> steps a jump back up the grid by that many steps through the forward
    /// process (x_s = √(ᾱ_s/ᾱ_t)·x_t + √(1 − ᾱ_s/ᾱ_t)·z), done <paramref name="jumpCount"/> − 1 times, so that the generated pixels
    /// and the kept ones agree. The network runs <see cref="RePaintSchedule.NetworkPasses"/> times.
    /// </summary>
    /// <param name="sampler">A DDPM sampler (its timesteps are set here).</param>
    /// <param name="denoiser">The network (with labels and guidance).</param>
    /// <param name="images">x₀ [B, C, H, W] in [−1, 1].</param>
    /// <param name="mask">1 where the image is kept, 0 where it is generated.</param>
    /// <param name="noise">One seed per image: x_T, then every step's and jump's noise, from the seed's own generator.</param>
    /// <param name="steps">The grid's steps, ≥ 1 (the paper: 250).</param>
    /// <param name="jumpLength">Steps per jump, ≥ 1 (the paper: 10).</param>
    /// <param name="jumpCount">Passes over each stretch, ≥ 1 (the paper: 10; 1 is plain replacement with fresh noise).</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    public static Tensor RePaint(DdpmSampler sampler, Denoiser denoiser, Tensor images, Tensor mask, SamplingNoise noise, int steps, int jumpLength, int jumpCount,
        CancellationToken cancellationToken = default)
    {
        Check(sampler, denoiser, images, noise, steps);
        var moves = RePaintSchedule.Create(steps, jumpLength, jumpCount);
        using var run = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var keep = Mask(mask, images);
        sampler.SetTimesteps(steps);
        var grid = sampler.Timesteps;

        // Time index i (0 = least noisy grid point, steps − 1 = noisiest) is grid[steps − 1 − i]; −1 is clean data.
        int Timestep(int i) => i < 0 ? -1 : grid[grid.Count - 1 - i];
        var x = noise.Initial(images.shape, images.dtype).to(images.device);
        foreach (var (from, to) in moves)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Tensor next;
            using (var step = torch.NewDisposeScope())
            {
                if (to < from)
                {
                    var t = Timestep(from);
                    var unknown = sampler.Step(denoiser(x, t), t, x, noise);
                    var reached = Timestep(to);
                    var known = reached < 0 ? images : Noised(images, noise.Next(images.shape, images.dtype).to(images.device), sampler, reached);
                    next = step.MoveToOuter(torch.where(keep, known, unknown));
                }
                else
                {
                    var ratio = sampler.Schedule.AlphaBar(Timestep(to)) / sampler.Schedule.AlphaBar(Timestep(from));
                    next = step.MoveToOuter((x * Math.Sqrt(ratio)) + (noise.Next(x.shape, x.dtype).to(x.device) * Math.Sqrt(1 - ratio)));
                }
            }

            x.Dispose();
            x = next;
        }

        return run.MoveToOuter(x);
    }

    /// <summary>Refuses a strength outside [0, 1], naming <paramref name="parameterName"/>.</summary>
    internal static void CheckStrength(double strength, string parameterName)
    {
        if (!(strength is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(parameterName, strength, "Strength is the share of the sampler's steps that run: 0 (the image itself) to 1 (a new image).");
        }
    }

    // x₀ noised to timestep t with ε: √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε (t = −1: x₀ itself, exactly).
    private static Tensor Noised(Tensor images, Tensor epsilon, IDiffusionSampler sampler, int t)
    {
        var alphaBar = t < 0 ? 1 : ((DiffusionSampler)sampler).Schedule.AlphaBar(t);
        return alphaBar == 1 ? images.clone() : (images * Math.Sqrt(alphaBar)) + (epsilon * Math.Sqrt(1 - alphaBar));
    }

    // The mask as a boolean "keep" tensor broadcast to the images, after checking it holds only 0 and 1.
    private static Tensor Mask(Tensor mask, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var (m, i) = (mask.shape, images.shape);
        if (m.Length != 4 || m[2] != i[2] || m[3] != i[3] || (m[0] != 1 && m[0] != i[0]) || (m[1] != 1 && m[1] != i[1]))
        {
            throw new ArgumentException(
                $"The mask is [{string.Join(", ", m)}]; for images [{string.Join(", ", i)}] it must be [{i[0]} or 1, 1 or {i[1]}, {i[2]}, {i[3]}].", nameof(mask));
        }

        using var scope = torch.NewDisposeScope();
        var values = mask.to(ScalarType.Float32);
        if (!values.eq(0).logical_or(values.eq(1)).all().ToBoolean())
        {
            throw new ArgumentException("The mask must hold only 0 (generate) and 1 (keep).", nameof(mask));
        }

        return scope.MoveToOuter(values.eq(1).to(images.device).expand(i));
    }

    private static void Check(IDiffusionSampler sampler, Denoiser denoiser, Tensor images, SamplingNoise noise, int steps)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(noise);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, DiffusionSampler.MinSteps);
        if (images.shape.Length != 4 || !images.dtype.IsFloatingPoint())
        {
            throw new ArgumentException($"Images must be floating-point [B, C, H, W]; got [{string.Join(", ", images.shape)}] {images.dtype}.", nameof(images));
        }

        if (sampler is not DiffusionSampler)
        {
            throw new ArgumentException("Editing needs one of the library's samplers (it reads the schedule's ᾱ).", nameof(sampler));
        }

        if (sampler is EdmSampler)
        {
            throw new ArgumentException(
                "Image-to-image and inpainting run DDIM, DPM-Solver++ or DDPM (RePaint): Heun and Euler on the Karras grid generate from noise only.", nameof(sampler));
        }
    }
}
