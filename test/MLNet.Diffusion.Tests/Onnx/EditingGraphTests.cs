using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Onnx;

namespace MLNet.Diffusion.Tests.Onnx;

/// <summary>
/// Image-to-image and deterministic inpainting as ONNX graphs against the TorchSharp path, on GeneratorGraphTests' briefly
/// trained models: the generator's bar (≥ 90 % of pixels exact, ≥ 99 % within 2/255), the kept pixels the input's exactly on both
/// engines, and on ONNX Runtime a row's result independent of its batch.
/// </summary>
[TestClass]
public sealed class EditingGraphTests
{
    private static DiffusionModel? s_gray;
    private static DiffusionModel? s_color;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_gray = GeneratorGraphTests.Train(channels: 1, classes: 3, PredictionType.Epsilon, BetaScheduleKind.Cosine);
        s_color = GeneratorGraphTests.Train(channels: 3, classes: null, PredictionType.VPrediction, BetaScheduleKind.Linear);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        s_gray?.Dispose();
        s_color?.Dispose();
    }

    public static IEnumerable<object[]> Cases =>
    [
        ["gray", "edit", SamplerKind.DpmSolverPlusPlus, 20, 0.6, 1.0],
        ["gray", "edit", SamplerKind.Ddim, 12, 1.0, 2.0],
        ["gray", "inpaint", SamplerKind.DpmSolverPlusPlus, 20, 1.0, 1.0],
        ["gray", "inpaint", SamplerKind.Ddim, 10, 1.0, 3.0],
        ["color", "edit", SamplerKind.Ddim, 20, 0.35, 1.0],
        ["color", "inpaint", SamplerKind.DpmSolverPlusPlus, 12, 1.0, 1.0],
    ];

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void OnnxRuntime_EditsAsTorchSharpDoes(string which, string task, SamplerKind sampler, int steps, double strength, double guidance)
    {
        var model = which == "gray" ? s_gray! : s_color!;
        var options = Options(task, sampler, steps, strength, guidance);
        ulong[] seeds = [0, 1, 12345, 1L << 40, 7];
        int[]? labels = model.Config.NumClasses is null ? null : [0, 1, 2, -1, 0];
        var (images, masks) = Inputs(model, seeds.Length);
        var mask = task == "inpaint" ? masks : null;
        var torchPixels = model.EditPixels(options, seeds, labels, images, mask);
        using var graph = new OnnxGenerator(model.ToOnnx(options));
        Assert.AreEqual(task == "edit" ? OnnxGraphTask.Edit : OnnxGraphTask.Inpaint, graph.Task);
        var onnxPixels = graph.Edit([.. seeds.Select(s => (long)s)], images, mask, labels?.Select(l => (long)l).ToArray());
        GeneratorGraphTests.AssertEnginesAgree(torchPixels, onnxPixels, $"{which} {task} {sampler} {steps} steps, strength {strength}, guidance {guidance}");

        // The comparison can fail: the input itself is far from the result where the model worked.
        var input = images.Select(model.Preprocessing.ToPixel).Select(b => (float)b).ToArray();
        var changed = Worked(model, input, onnxPixels, mask);
        Assert.IsGreaterThan(0.3, changed, "share of the generated (or edited) pixels that moved");
        if (mask is not null)
        {
            var plane = model.Config.ImageSize * model.Config.ImageSize;
            for (var i = 0; i < input.Length; i++)
            {
                if (mask[(i / (model.Config.InChannels * plane) * plane) + (i % plane)] == 1)
                {
                    Assert.AreEqual(input[i], onnxPixels[i], $"kept pixel {i} on ONNX Runtime");
                    Assert.AreEqual(input[i], torchPixels[i], $"kept pixel {i} on TorchSharp");
                }
            }
        }
    }

    [TestMethod]
    public void OnnxRuntime_AResultDependsOnItsRowOnly()
    {
        var model = s_gray!;
        var options = Options("inpaint", SamplerKind.DpmSolverPlusPlus, 6, 1, 2);
        var (images, masks) = Inputs(model, 3);
        using var graph = new OnnxGenerator(model.ToOnnx(options));
        var batch = graph.Edit([5, 9, 5], images, masks, [2, 0, -1]);
        var (size, plane) = (batch.Length / 3, masks.Length / 3);
        CollectionAssert.AreEqual(batch[(2 * size)..], graph.Edit([5], images[(2 * size)..], masks[(2 * plane)..], [-1]), "third alone");
        CollectionAssert.AreEqual(batch[..size], graph.Edit([5], images[..size], masks[..plane], [2]), "first alone");
        CollectionAssert.AreEqual(batch[..size], graph.Edit([5], images[..size], masks[..plane], [2]), "again");
    }

    [TestMethod]
    public void StrengthZero_IsTheInputAndStrengthOne_IsGeneration()
    {
        var model = s_color!;
        var (images, _) = Inputs(model, 2);
        using (var zero = new OnnxGenerator(model.ToOnnx(Options("edit", SamplerKind.Ddim, 10, 0, 1))))
        {
            CollectionAssert.AreEqual(images.Select(model.Preprocessing.ToPixel).Select(b => (float)b).ToArray(), zero.Edit([3, 4], images));
        }

        using var one = new OnnxGenerator(model.ToOnnx(Options("edit", SamplerKind.Ddim, 10, 1, 1)));
        using var generator = new OnnxGenerator(model.ToOnnx(new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 10 }));
        CollectionAssert.AreEqual(generator.Generate([3, 4]), one.Edit([3, 4], images));
    }

    [TestMethod]
    public void RePaintAndStochasticSamplers_AreRefusedWithTheAlternative()
    {
        var rePaint = Options("inpaint", SamplerKind.DpmSolverPlusPlus, 10, 1, 1) with { RePaint = new RePaintOptions() };
        var error = Assert.ThrowsExactly<ArgumentException>(() => s_gray!.ToOnnx(rePaint));
        StringAssert.Contains(error.Message, "RePaint = null");
        var ddim = Options("edit", SamplerKind.Ddim, 10, 0.5, 1);
        Assert.ThrowsExactly<ArgumentException>(() => s_gray!.ToOnnx(ddim with { Sampling = ddim.Sampling with { Eta = 1 } }));
        using var graph = new OnnxGenerator(s_gray!.ToOnnx(ddim));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => graph.Generate([1])).Message, "Edit(seeds, images)");
        Assert.ThrowsExactly<ArgumentException>(() => graph.Edit([1], new float[64], new float[64]));
        Assert.ThrowsExactly<ArgumentException>(() => graph.Edit([1, 2], new float[64]));
    }

    [TestMethod]
    public void DocsExample_RunsAnInpaintingGraph()
    {
        var model = s_gray!;
        var (pixels, keep) = Inputs(model, 1);

        // docs: inpainting graph
        var inpainting = new ImageEditingOptions { MaskColumnName = "Mask", Sampling = new GenerationOptions { Steps = 10 } };
        using var graph = new OnnxGenerator(model.ToOnnx(inpainting));     // graph.Task is OnnxGraphTask.Inpaint
        float[] result = graph.Edit(seeds: [7], images: pixels, masks: keep);  // pixels [C·S·S], keep [S·S] of 0 and 1
        // end

        Assert.AreEqual(OnnxGraphTask.Inpaint, graph.Task);
        CollectionAssert.AreEqual(model.EditPixels(inpainting, [7], [-1], pixels, keep), result);
    }

    internal static ImageEditingOptions Options(string task, SamplerKind sampler, int steps, double strength, double guidance) => new()
    {
        MaskColumnName = task == "inpaint" ? "Mask" : null,
        Strength = strength,
        Sampling = new GenerationOptions { Sampler = sampler, Steps = steps, Guidance = guidance },
    };

    // Images with structure (a gradient and a bright square), on the model's pixel grid, and masks keeping the left half of each.
    internal static (float[] Images, float[] Masks) Inputs(DiffusionModel model, int count)
    {
        var (channels, size) = (model.Config.InChannels, model.Config.ImageSize);
        var images = new float[count * channels * size * size];
        var masks = new float[count * size * size];
        for (var n = 0; n < count; n++)
        {
            for (var c = 0; c < channels; c++)
            {
                for (var y = 0; y < size; y++)
                {
                    for (var x = 0; x < size; x++)
                    {
                        var square = x >= 2 + n && x < 5 + n && y >= 2 && y < 6;
                        var value = square ? 230 : ((x * 20) + (y * 7) + (c * 40) + (n * 30)) % 200;
                        images[(((((n * channels) + c) * size) + y) * size) + x] = model.Preprocessing.ToValue(value);
                        masks[(((n * size) + y) * size) + x] = x < size / 2 ? 1 : 0;
                    }
                }
            }
        }

        return (images, masks);
    }

    // The share of the pixels the model was asked to change (all for image-to-image, the masked ones for inpainting) that differ from the input.
    private static double Worked(DiffusionModel model, float[] input, float[] output, float[]? mask)
    {
        var plane = model.Config.ImageSize * model.Config.ImageSize;
        var asked = Enumerable.Range(0, input.Length).Where(i => mask is null || mask[(i / (model.Config.InChannels * plane) * plane) + (i % plane)] == 0).ToArray();
        return asked.Count(i => input[i] != output[i]) / (double)asked.Length;
    }
}
