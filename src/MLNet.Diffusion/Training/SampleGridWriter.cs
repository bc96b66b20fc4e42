using System.Globalization;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Writes the sample grids of a run's checkpoints, <c>samples-&lt;step&gt;.png</c> beside them (the files
/// <see cref="TrainingReport"/> shows), and brings a resumed run's earlier grids into its new checkpoint directory.
/// </summary>
/// <param name="config">The run's network configuration.</param>
/// <param name="device">Where the run trains.</param>
/// <param name="schedule">The run's noise schedule.</param>
/// <param name="options">The run's options: grid size, prediction type and seed.</param>
internal sealed class SampleGridWriter(UNetConfig config, Device device, NoiseSchedule schedule, DdpmTrainerOptions options)
{
    /// <summary>
    /// Samples a grid from the moving average <paramref name="ema"/> into <paramref name="directory"/>, unless the grid size
    /// is 0. The grid comes from a separate model with its own generators, so that writing it changes nothing in the run
    /// (resuming stays exact).
    /// </summary>
    public void Write(string directory, long step, ExponentialMovingAverage ema)
    {
        var count = options.SampleGridSize;
        if (count == 0)
        {
            return;
        }

        using var model = ema.ToNetwork(config, device);
        ImageCodec.SavePng(Render(model), Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"samples-{step:D8}.png")));
    }

    /// <summary>
    /// The grid of <paramref name="model"/>'s samples: the run's grid size, DDIM with min(50, timesteps) steps, seeds from the
    /// run's seed, labels cycling through the classes with one column per class (so column c is class c).
    /// </summary>
    public Image Render(UNet2D model)
    {
        var count = Math.Max(1, options.SampleGridSize);
        model.eval();
        using var scope = torch.NewDisposeScope();
        var labels = config.NumClasses is { } classes
            ? torch.tensor(Enumerable.Range(0, count).Select(i => (long)(i % classes)).ToArray(), device: device)
            : null;
        var sampler = new DdimSampler(schedule, new SamplerOptions { PredictionType = options.PredictionType });
        using var noise = SamplingNoise.PerSample(options.Seed ?? 0, count, device);
        var images = SamplingLoop.Run(sampler, UNetDenoiser.Create(model, labels), [count, config.InChannels, config.ImageSize, config.ImageSize],
            noise, Math.Min(50, schedule.TrainTimesteps));
        return ImageGrid.FromTensor(images, Columns(config, count));
    }

    /// <summary>The columns of a run's grid of <paramref name="count"/> images: one per class, or a square's side.</summary>
    public static int Columns(UNetConfig config, int count) => Math.Min(config.NumClasses ?? (int)Math.Ceiling(Math.Sqrt(count)), count);

    /// <summary>
    /// Copies the grids of steps up to <paramref name="step"/> from the folder of <paramref name="resumedFrom"/> into
    /// <paramref name="directory"/> when they differ, so that a run resumed into another checkpoint directory has a folder
    /// (and a report made from it) that covers the whole run. Grids of later steps (from a run that went further before)
    /// stay behind, and a grid already there is kept.
    /// </summary>
    public static void CarryOver(string? resumedFrom, string directory, long step)
    {
        if (resumedFrom is null || Path.GetDirectoryName(Path.GetFullPath(resumedFrom)) is not { } previous
            || string.Equals(previous, Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
        {
            return;
        }

        foreach (var grid in Directory.GetFiles(previous, "samples-*.png"))
        {
            var name = Path.GetFileName(grid);
            var target = Path.Combine(directory, name);
            if (TrainingReport.GridStep(name) is { } gridStep && gridStep <= step && !File.Exists(target))
            {
                File.Copy(grid, target);
            }
        }
    }
}
