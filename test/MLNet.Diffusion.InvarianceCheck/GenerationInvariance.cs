using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.InvarianceCheck;

/// <summary>
/// Generates one (seed, label) alone and inside batches of other seeds and labels, and lists every batch whose image
/// for it is not the same float32 values.
/// </summary>
public static class GenerationInvariance
{
    /// <summary>The seed whose image is checked.</summary>
    public const ulong Seed = 1_000;

    /// <summary>The batch sizes the issue names, beyond 1 (the reference).</summary>
    public static readonly int[] BatchSizes = [2, 5, 16, 17, 64];

    /// <summary>
    /// A tiny class-conditional model (3 classes, RGB 6 × 6: with AVX-512, SiLU on its 3 × 3 level needs the padded layout) whose
    /// weights are all random, so that no zero-initialised layer hides a difference. The same in every process.
    /// </summary>
    public static DiffusionModel CreateModel()
    {
        torch.manual_seed(11);
        using var images = torch.rand([8, 3, 6, 6]) * 2 - 1;
        using var labels = torch.arange(8, ScalarType.Int64) % 3;
        using var data = new TensorTrainingData(images, labels, 3);
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 6, 3), ClassConditional = true,
            Schedule = new NoiseScheduleOptions { TrainTimesteps = 100 },
            BatchSize = 4, MaxSteps = 1, WarmupSteps = 1, Device = "cpu", SampleGridSize = 0, Seed = 5,
        };
        using var result = new DdpmTrainer(options).Train(data);
        var model = DiffusionModel.FromTraining(result);
        using (torch.no_grad())
        {
            var generator = new Generator(13);
            foreach (var parameter in model.Network.parameters())
            {
                parameter.copy_(torch.randn(parameter.shape, generator: generator) * 0.2);
            }
        }

        return model;
    }

    /// <summary>
    /// The image of (<see cref="Seed"/>, <paramref name="label"/>) with <paramref name="guidance"/>, generated alone:
    /// [C, H, W] floats.
    /// </summary>
    public static float[] Alone(DiffusionModel model, int label, double guidance)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var image = model.Generate(1, Options(Seed, [label], guidance));
        return image.data<float>().ToArray();
    }

    /// <summary>
    /// The batches (size, position, guidance) where the image of (<see cref="Seed"/>, <paramref name="label"/>) differs
    /// from <see cref="Alone"/>'s; the other images of a batch have other seeds and a mix of labels and no label.
    /// </summary>
    public static List<string> Mismatches(DiffusionModel model, int label)
    {
        ArgumentNullException.ThrowIfNull(model);
        var mismatches = new List<string>();
        foreach (var guidance in new[] { 1.0, 2.0 })
        {
            var alone = Alone(model, label, guidance);
            foreach (var size in BatchSizes)
            {
                foreach (var position in new[] { 0, size / 2, size - 1 }.Distinct())
                {
                    var labels = Enumerable.Range(0, size).Select(i => i == position ? label : (i % 4) - 1).ToArray();
                    using var batch = model.Generate(size, Options(Seed - (ulong)position, labels, guidance));
                    using var row = batch[position];
                    var values = row.data<float>().ToArray();
                    if (!values.AsSpan().SequenceEqual(alone))
                    {
                        var first = Enumerable.Range(0, values.Length).First(i => values[i] != alone[i]);
                        mismatches.Add($"batch {size}, position {position}, guidance {guidance}: element {first} is {values[first]:R}, alone {alone[first]:R}");
                    }
                }
            }
        }

        return mismatches;
    }

    /// <summary>
    /// The network call alone, <see cref="UNet2D.ForwardAt"/>, for presets whose attention differs from
    /// <see cref="CreateModel"/>'s (tiny at 28 px: one head over 196 pixels; small at 28 px: four heads over 49): the
    /// rows of batches of 1, 2, 5 and 17 images at the start and the end of 64 against those of all 64; the
    /// mismatching (preset, batch, start).
    /// </summary>
    public static List<string> ForwardMismatches()
    {
        var mismatches = new List<string>();
        foreach (var preset in new[] { "tiny", "small" })
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var generator = new Generator(17);
            using var network = new UNet2D(UNetConfig.Preset(preset, 28, 1, numClasses: 10));
            foreach (var parameter in network.parameters())
            {
                parameter.copy_(torch.randn(parameter.shape, generator: generator) * 0.05);
            }

            network.eval();
            var x = torch.randn([64, 1, 28, 28], generator: generator);
            var labels = torch.arange(64, ScalarType.Int64) % 11;
            var all = network.ForwardAt(x, 500, labels);
            foreach (var batch in new[] { 1, 2, 5, 17 })
            {
                foreach (var start in new[] { 0, 64 - batch })
                {
                    var part = network.ForwardAt(x.narrow(0, start, batch), 500, labels.narrow(0, start, batch));
                    if (!part.equal(all.narrow(0, start, batch)).all().item<bool>())
                    {
                        mismatches.Add($"{preset} at 28 px: batch {batch} at {start}");
                    }
                }
            }
        }

        return mismatches;
    }

    /// <summary>The options the checks generate with: DPM-Solver++ in 4 steps, the given seed, labels and guidance.</summary>
    public static GenerationOptions Options(ulong seed, int[] labels, double guidance) =>
        new() { Seed = seed, Labels = labels, Guidance = guidance, Steps = 4 };
}
