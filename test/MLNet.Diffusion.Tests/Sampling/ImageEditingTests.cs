using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Tests.Onnx;
using Image = MLNet.Diffusion.Images.Image;
using ImageMask = MLNet.Diffusion.Images.ImageMask;
using ImageCodec = MLNet.Diffusion.Images.ImageCodec;

namespace MLNet.Diffusion.Tests.Sampling;

/// <summary>
/// Image-to-image, deterministic inpainting and RePaint: the schedule against the paper's algorithm, which timesteps run,
/// the images' kept pixels, and the identities that hold exactly (strength 0 and 1, the same seed twice, a batch and its
/// images alone). One tiny 8-px model trained for a few steps serves them all.
/// </summary>
[TestClass]
public sealed class ImageEditingTests
{
    private static DiffusionModel s_model = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context) =>
        s_model = GeneratorGraphTests.Train(channels: 1, classes: 3, PredictionType.Epsilon, BetaScheduleKind.Cosine, steps: 10);

    [ClassCleanup]
    public static void Cleanup() => s_model?.Dispose();

    [TestMethod]
    [DataRow(1, 1)]
    [DataRow(7, 1)]
    [DataRow(7, 3)]
    [DataRow(12, 4)]
    public void RePaintSchedule_WithJumpsOfOne_IsAlgorithm1(int steps, int resamplings)
    {
        // Lugmayr et al. 2022, Algorithm 1: for t = T..1, for u = 1..U: x_{t−1} from x_t (a network pass); if u < U and t > 1, x_t from
        // x_{t−1} (the forward process). Here x_t is time index t − 1, and −1 is clean data.
        var expected = new List<(int, int)>();
        for (var t = steps; t >= 1; t--)
        {
            // At t = 1 nothing is re-noised between the U passes, which repeat one step from the same x_1: it is taken once.
            for (var u = 1; u <= (t > 1 ? resamplings : 1); u++)
            {
                expected.Add((t - 1, t - 2));
                if (u < resamplings && t > 1)
                {
                    expected.Add((t - 2, t - 1));
                }
            }
        }

        CollectionAssert.AreEqual(expected, RePaintSchedule.Create(steps, jumpLength: 1, jumpCount: resamplings).ToList());
    }

    [TestMethod]
    public void RePaintSchedule_WithLongerJumps_GoesBackThatFarAndCountsItsPasses()
    {
        var moves = RePaintSchedule.Create(20, jumpLength: 5, jumpCount: 3);
        Assert.AreEqual((19, 18), moves[0]);
        Assert.AreEqual((0, -1), moves[^1]);
        Assert.IsTrue(moves.Zip(moves.Skip(1)).All(p => p.First.To == p.Second.From), "each move starts where the last ended");
        Assert.IsTrue(moves.All(m => Math.Abs(m.To - m.From) == 1), "one grid step at a time");

        // Jump points 0, 5 and 10 (below 20 − 5), each left twice, five steps up and five down again: 20 + 2 × 3 × 5 passes.
        Assert.AreEqual(20 + (2 * 3 * 5), RePaintSchedule.NetworkPasses(20, 5, 3));
        var ups = moves.Select((m, i) => (m, i)).Where(p => p.m.To > p.m.From).ToList();
        Assert.AreEqual(2 * 3 * 5, ups.Count);
        Assert.AreEqual(10, moves.TakeWhile(m => m.To < m.From).Last().To, "the first jump comes on reaching index 10");
        Assert.AreEqual(20, RePaintSchedule.NetworkPasses(20, 5, 1), "one pass: no jumps");
        Assert.AreEqual(460, RePaintSchedule.NetworkPasses(100, 10, 5), "RePaintOptions' defaults (docs/editing.md)");
        Assert.AreEqual(2410, RePaintSchedule.NetworkPasses(250, 10, 10), "the paper's settings");
        Assert.AreEqual(4, RePaintSchedule.NetworkPasses(4, 5, 3), "a grid shorter than a jump has no jump point");
    }

    [TestMethod]
    public void ImageToImage_RunsTheLastStepsOfTheGrid_FromTheNoisedImage()
    {
        var schedule = NoiseSchedule.Create(BetaScheduleKind.Linear, 100);
        var sampler = new DdimSampler(schedule);
        var seen = new List<int>();
        Tensor Denoiser(Tensor x, int t)
        {
            seen.Add(t);
            return torch.zeros_like(x);
        }

        using var images = torch.full([2, 1, 4, 4], 0.5f);
        using var noise = SamplingNoise.PerSample([5UL, 6UL]);
        using var edited = ImageEditing.ImageToImage(sampler, Denoiser, images, noise, steps: 10, strength: 0.45);
        sampler.SetTimesteps(10);
        CollectionAssert.AreEqual(sampler.Timesteps.Skip(6).ToArray(), seen.ToArray(), "⌊10 × 0.45⌋ = 4: the last four timesteps");

        seen.Clear();
        using var unchanged = ImageEditing.ImageToImage(sampler, Denoiser, images, noise, steps: 10, strength: 0);
        Assert.AreEqual(0, seen.Count);
        Assert.IsTrue(Same(unchanged, images), "strength 0 returns the images");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImageEditing.ImageToImage(sampler, Denoiser, images, noise, 10, 1.5));
    }

    [TestMethod]
    [DataRow(SamplerKind.DpmSolverPlusPlus, 8)]
    [DataRow(SamplerKind.Ddim, 6)]
    [DataRow(SamplerKind.Ddpm, 6)]
    public void Edit_AtFullStrength_IsGeneration_AndAtZeroTheImage(SamplerKind sampler, int steps)
    {
        var options = new GenerationOptions { Sampler = sampler, Steps = steps, Seed = 11, Labels = [2, -1], Guidance = 2 };
        using var images = Images(2);
        using var generated = s_model.Generate(2, options);
        using var full = s_model.Edit(images, 1, options);
        Assert.IsTrue(Same(full, generated), "strength 1: the generated images, bit for bit");
        using var none = s_model.Edit(images, 0, options);
        Assert.IsTrue(Same(none, images), "strength 0: the images");
        using var half = s_model.Edit(images, 0.5, options);
        Assert.IsFalse(Same(half, images));
        Assert.IsFalse(Same(half, generated));
    }

    [TestMethod]
    public void Inpaint_KeepsTheKeptPixelsExactly_DeterministicAndBatchInvariant()
    {
        using var images = Images(3);
        using var mask = RightHalfGenerated();
        var options = new GenerationOptions { Sampler = SamplerKind.DpmSolverPlusPlus, Steps = 8, Seed = 20, Labels = [0, 1, 2] };
        using var filled = s_model.Inpaint(images, mask, options);
        using var keep = mask.eq(1).expand(images.shape);
        Assert.IsTrue(Same(filled.masked_select(keep), images.masked_select(keep)), "kept pixels are the input's");
        Assert.IsFalse(Same(filled.masked_select(keep.logical_not()), images.masked_select(keep.logical_not())), "the rest is generated");

        using var again = s_model.Inpaint(images, mask, options);
        Assert.IsTrue(Same(again, filled), "the same seeds: the same images");
        using var third = s_model.Inpaint(images[2..3], mask, options with { Seed = 22, Labels = [2] });
        Assert.IsTrue(Same(third, filled[2..3]), "an image alone is its image in the batch");

        using var ddim = s_model.Inpaint(images, mask, options with { Sampler = SamplerKind.Ddim });
        Assert.IsTrue(Same(ddim.masked_select(keep), images.masked_select(keep)));
        var error = Assert.ThrowsExactly<ArgumentException>(() => s_model.Inpaint(images, mask, options with { Sampler = SamplerKind.Ddpm }));
        StringAssert.Contains(error.Message, "pass RePaintOptions");
    }

    [TestMethod]
    public void RePaint_KeepsTheKeptPixels_AndRunsTheScheduledPasses()
    {
        using var images = Images(2);
        using var mask = RightHalfGenerated();
        var options = new GenerationOptions { Seed = 30, Labels = [1, -1] };
        var rePaint = new RePaintOptions { Steps = 12, JumpLength = 3, JumpCount = 2 };
        using var filled = s_model.Inpaint(images, mask, options, rePaint);
        using var keep = mask.eq(1).expand(images.shape);
        Assert.IsTrue(Same(filled.masked_select(keep), images.masked_select(keep)));
        using var again = s_model.Inpaint(images, mask, options, rePaint);
        Assert.IsTrue(Same(again, filled), "the seed's own generator: the same images again");

        var passes = 0;
        var sampler = new DdpmSampler(s_model.Schedule);
        using var noise = SamplingNoise.PerSample([1UL, 2UL]);
        using var direct = ImageEditing.RePaint(sampler, (x, t) => { passes++; return torch.zeros_like(x); }, images, mask, noise, 12, 3, 2);
        Assert.AreEqual(RePaintSchedule.NetworkPasses(12, 3, 2), passes);
        Assert.AreEqual(12 + 9, passes, "jump points 0, 3, 6 (below 12 − 3): one jump of three steps each");
    }

    [TestMethod]
    public void BadMasksAndImages_AreRefusedWithTheirShape()
    {
        using var images = Images(2);
        using var half = torch.full([1, 1, 8, 8], 0.5f);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => s_model.Inpaint(images, half)).Message, "only 0 (generate) and 1 (keep)");
        using var small = torch.ones([1, 1, 4, 4]);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => s_model.Inpaint(images, small)).Message, "must be [2 or 1, 1 or 1, 8, 8]");
        using var wrong = torch.zeros([2, 3, 8, 8]);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => s_model.Edit(wrong, 0.5)).Message, "Images must be [N, 1, 8, 8]");
    }

    [TestMethod]
    public void ImagesAndMasks_BecomeTheModelsValues_AndBackToTheSameBytes()
    {
        var image = new Image(8, 8, 1);
        for (var i = 0; i < 64; i++)
        {
            image.Pixels[i] = (byte)(i * 4);
        }

        using var values = s_model.ConvertFromImages([image]);
        CollectionAssert.AreEqual(new long[] { 1, 1, 8, 8 }, values.shape);
        CollectionAssert.AreEqual(image.Pixels.ToArray(), s_model.ConvertToImages(values)[0].Pixels.ToArray(), "a model-size image round-trips exactly");

        var mask = new Image(16, 16, 3);
        for (var y = 0; y < 16; y++)
        {
            mask.GetRow(y)[..(7 * 3)].Fill(255);                 // white on the left 7 of 16 columns
        }

        using var flags = ImageMask.FromImage(mask, 8);
        CollectionAssert.AreEqual(new float[] { 1, 1, 1, 0, 0, 0, 0, 0 }, flags[0, 0, 3].data<float>().ToArray(),
            "column 3 (source columns 6 and 7) was half black: generated");
        mask.Pixels[5] = 200;
        var error = Assert.ThrowsExactly<InvalidDataException>(() => ImageMask.FromImage(mask, 8, source: "m.png"));
        StringAssert.Contains(error.Message, "m.png: pixel (1, 0) is");
    }

    [TestMethod]
    public void DocsExample_EditsAndInpaintsFilesOnDisk()
    {
        var folder = Path.Combine(Path.GetTempPath(), "editing-docs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var (photoPath, maskPath) = (Path.Combine(folder, "photo.png"), Path.Combine(folder, "mask.png"));
            var (editedPath, filledPath) = (Path.Combine(folder, "edited.png"), Path.Combine(folder, "filled.png"));
            using (var ramp = Images(1))
            {
                ImageCodec.SavePng(s_model.ConvertToImages(ramp)[0], photoPath);
            }

            var white = new Image(8, 8, 1);
            white.Pixels.Fill(255);
            white.GetRow(0).Clear();                              // the top row is generated
            ImageCodec.SavePng(white, maskPath);
            var model = s_model;

            // docs: editing
            using var photo = model.ConvertFromImages([ImageCodec.Load(photoPath)]);        // [1, C, S, S] in the model's values
            using var edited = model.Edit(photo, strength: 0.6, new GenerationOptions { Seed = 7 });
            ImageCodec.SavePng(model.ConvertToImages(edited)[0], editedPath);

            using var mask = ImageMask.FromImage(ImageCodec.Load(maskPath), model.Config.ImageSize);  // white: keep, black: generate
            using var filled = model.Inpaint(photo, mask, new GenerationOptions { Seed = 7 });        // deterministic, DPM-Solver++
            using var repainted = model.Inpaint(photo, mask, new GenerationOptions { Seed = 7 },
                new RePaintOptions { Steps = 50, JumpLength = 5, JumpCount = 3 });                   // RePaint: DDPM steps and jumps
            ImageCodec.SavePng(model.ConvertToImages(filled)[0], filledPath);
            // end

            var (input, output) = (ImageCodec.Load(photoPath), ImageCodec.Load(filledPath));
            CollectionAssert.AreEqual(input.Pixels[8..].ToArray(), output.Pixels[8..].ToArray(), "rows 1 to 7 are kept");
            Assert.IsTrue(File.Exists(editedPath));
            using var repaintedKept = repainted[.., .., 1..];
            using var photoKept = photo[.., .., 1..];
            Assert.IsTrue(Same(repaintedKept, photoKept));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // Equal shapes and elements (TorchSharp 0.107's Tensor.equal compares elementwise).
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().ToBoolean();

    // Gradients in [−1, 1], one per image, so that kept and generated pixels are told apart.
    private static Tensor Images(int count)
    {
        using var ramp = torch.linspace(-1, 1, 64).reshape(1, 1, 8, 8);
        return torch.cat([.. Enumerable.Range(0, count).Select(i => ramp * (1 - (0.2f * i)))]);
    }

    // 1 (keep) on the left half, 0 (generate) on the right.
    private static Tensor RightHalfGenerated()
    {
        var mask = torch.ones([1, 1, 8, 8]);
        mask[.., .., .., 4..] = 0;
        return mask;
    }
}
