using MLNet.Diffusion.Images;
using static MLNet.Diffusion.Cli.Tests.ModelFiles;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// <c>edit</c> and <c>inpaint</c> on images a user has: one file or a folder, outputs named as the inputs, kept pixels equal to
/// the input's bytes, and every bad input refused in one line before anything is written. One tiny class-conditional 8-px model.
/// </summary>
[TestClass]
public sealed class EditCommandTests
{
    private static string s_root = null!;
    private static string s_model = null!;
    private static string s_images = null!;
    private static string s_mask = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_root = Path.Combine(context.TestRunDirectory ?? Path.GetTempPath(), "edit-" + Guid.NewGuid().ToString("N"));
        s_images = Path.Combine(s_root, "images");
        Directory.CreateDirectory(s_images);
        foreach (var (name, value) in new[] { ("a", (byte)40), ("b", (byte)200), ("c", (byte)120) })
        {
            var image = new Image(8, 8, 3);
            for (var y = 0; y < 8; y++)
            {
                image.GetRow(y).Fill((byte)(value + (8 * y)));
            }

            ImageCodec.SavePng(image, Path.Combine(s_images, name + ".png"));
        }

        // White (keep) on the left half, black (generate) on the right.
        var mask = new Image(8, 8, 1);
        for (var y = 0; y < 8; y++)
        {
            mask.GetRow(y)[..4].Fill(255);
        }

        s_mask = Path.Combine(s_root, "mask.png");
        ImageCodec.SavePng(mask, s_mask);
        s_model = Path.Combine(s_root, "model.zip");
        var classes = Path.Combine(s_root, "classes");
        foreach (var name in new[] { "dark", "light" })
        {
            Directory.CreateDirectory(Path.Combine(classes, name));
            File.Copy(Path.Combine(s_images, name == "dark" ? "a.png" : "b.png"), Path.Combine(classes, name, "0.png"));
        }

        var (code, _, error) = Run("train", "--data", classes, "--image-size", "8", "--model", "tiny", "--steps", "2", "--batch-size", "2",
            "--class-conditional", "--device", "cpu", "--sample-grid", "0", "--out", s_model);
        Assert.AreEqual(0, code, error);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        if (Directory.Exists(s_root))
        {
            Directory.Delete(s_root, recursive: true);
        }
    }

    private static string Out(string name) => Path.Combine(s_root, "out-" + Guid.NewGuid().ToString("N"), name);

    [TestMethod]
    public void Edit_OneImage_WritesItsEdit_AndStrengthZeroIsTheImage()
    {
        var target = Out("edited.png");
        var (code, output, error) = Run("edit", "--model", s_model, "--image", Path.Combine(s_images, "a.png"), "--strength", "0.5", "--steps", "6",
            "--label", "light", "--out", target);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "edit at strength 0.5: the last 3 of 6 dpm-solver++ steps");
        Assert.AreEqual((8, 8), ImageCodec.Load(target) is var image ? (image.Width, image.Height) : default);

        var same = Out("same.png");
        (code, _, error) = Run("edit", "--model", s_model, "--image", Path.Combine(s_images, "a.png"), "--strength", "0", "--out", same);
        Assert.AreEqual(0, code, error);
        CollectionAssert.AreEqual(ImageCodec.Load(Path.Combine(s_images, "a.png")).Pixels.ToArray(), ImageCodec.Load(same).Pixels.ToArray());
    }

    [TestMethod]
    [DataRow(new string[0], "deterministic inpainting: 6 dpm-solver++ steps")]
    [DataRow(new[] { "--deterministic", "--sampler", "ddim" }, "deterministic inpainting: 6 ddim steps")]
    [DataRow(new[] { "--jumps", "2", "--jump-length", "2" }, "RePaint: 6 DDPM steps, jumps of 2, 2 passes (10 network passes per image)")]
    public void Inpaint_AFolder_KeepsTheWhitePartExactly(string[] extra, string said)
    {
        var target = Out("filled");
        var (code, output, error) = Run([.. new[] { "inpaint", "--model", s_model, "--image", s_images, "--mask", s_mask, "--steps", "6", "--out", target }, .. extra]);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, said);
        StringAssert.Contains(output, $"wrote 3 images to {target}");
        foreach (var name in new[] { "a", "b", "c" })
        {
            var (input, filled) = (ImageCodec.Load(Path.Combine(s_images, name + ".png")), ImageCodec.Load(Path.Combine(target, name + ".png")));
            for (var y = 0; y < 8; y++)
            {
                CollectionAssert.AreEqual(input.GetRow(y)[..12].ToArray(), filled.GetRow(y)[..12].ToArray(), $"{name}: row {y}'s kept (left) pixels");
            }
        }
    }

    [TestMethod]
    [DataRow("edit")]
    [DataRow("inpaint")]
    public void EngineOnnx_WritesTorchSharpsPngs(string command)
    {
        string[] task = command == "edit" ? ["edit", "--strength", "0.7"] : ["inpaint", "--mask", s_mask];
        var pixels = new Dictionary<string, byte[]>();
        foreach (var engine in new[] { "torch", "onnx" })
        {
            var target = Out(engine);
            var (code, output, error) = Run([.. task, "--model", s_model, "--image", s_images, "--steps", "8", "--label", "dark", "--guidance", "2", "--engine", engine, "--out", target]);
            Assert.AreEqual(0, code, error);
            StringAssert.Contains(output, $"engine {engine}");
            pixels[engine] = [.. new[] { "a", "b", "c" }.SelectMany(n => ImageCodec.Load(Path.Combine(target, n + ".png")).Pixels.ToArray())];
        }

        var differences = pixels["torch"].Zip(pixels["onnx"], (a, b) => Math.Abs(a - b)).ToArray();
        Assert.IsGreaterThanOrEqualTo(0.99, differences.Count(d => d <= 2) / (double)differences.Length);
        Assert.IsGreaterThanOrEqualTo(0.9, differences.Count(d => d == 0) / (double)differences.Length);
        var input = new[] { "a", "b", "c" }.SelectMany(n => ImageCodec.Load(Path.Combine(s_images, n + ".png")).Pixels.ToArray()).ToArray();
        Assert.IsGreaterThan(20, input.Zip(pixels["onnx"], (a, b) => a != b).Count(d => d), "the images were changed");
    }

    [TestMethod]
    public void ExportTask_WritesTheEditingGraphs_ThatEditAsTheCommandsDo()
    {
        var folder = Out("graphs");
        var (code, output, error) = Run("export", "--model", s_model, "--task", "inpaint", "--steps", "8", "--out", Path.Combine(folder, "inpaint.onnx"));
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "deterministic inpainting, dpm-solver++, 8 steps");
        StringAssert.Contains(output, "mask float [B, 1, 8, 8] (above 0.5 keeps)");
        (code, output, error) = Run("export", "--model", s_model, "--task", "edit", "--strength", "0.5", "--sampler", "ddim", "--steps", "8", "--out", Path.Combine(folder, "edit.onnx"));
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "image-to-image at strength 0.5 (the last 4 of 8 steps), ddim");

        using var inpaint = new Onnx.OnnxGenerator(File.ReadAllBytes(Path.Combine(folder, "inpaint.onnx")));
        using var edit = new Onnx.OnnxGenerator(File.ReadAllBytes(Path.Combine(folder, "edit.onnx")));
        Assert.AreEqual((Onnx.OnnxGraphTask.Inpaint, Onnx.OnnxGraphTask.Edit), (inpaint.Task, edit.Task));

        // The exported graph gives the PNG `inpaint --engine onnx` writes for the same image, mask and seed.
        var written = Out("a.png");
        (code, _, error) = Run("inpaint", "--model", s_model, "--image", Path.Combine(s_images, "a.png"), "--mask", s_mask, "--steps", "8", "--seed", "3", "--engine", "onnx", "--out", written);
        Assert.AreEqual(0, code, error);
        using var model = DiffusionModel.Load(s_model);
        using var values = model.ConvertFromImages([ImageCodec.Load(Path.Combine(s_images, "a.png"))]);
        var keep = Enumerable.Range(0, 64).Select(i => i % 8 < 4 ? 1f : 0f).ToArray();
        var image = inpaint.EditImages([3], [.. values.data<float>()], keep, [-1])[0];
        CollectionAssert.AreEqual(ImageCodec.Load(written).Pixels.ToArray(), image.Pixels.ToArray());

        (code, _, error) = Run("export", "--model", s_model, "--task", "generate", "--strength", "0.5", "--out", Path.Combine(folder, "x.onnx"));
        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "--strength applies only with --task edit");
    }

    [TestMethod]
    public void AnImageOfAnotherSize_IsResizedAsTrainDoes()
    {
        var large = Path.Combine(s_root, "large.png");
        ImageCodec.SavePng(new Image(20, 12, 3), large);
        var target = Out("large.png");
        var (code, output, error) = Run("edit", "--model", s_model, "--image", large, "--steps", "4", "--out", target);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "1 image(s) resized to 8 px (crop)");
        Assert.AreEqual((8, 8), ImageCodec.Load(target) is var image ? (image.Width, image.Height) : default);
    }

    [TestMethod]
    public void BadInput_IsOneErrorLine_AndWritesNothing()
    {
        var gray = Path.Combine(s_root, "gray-mask.png");
        var half = new Image(8, 8, 1);
        half.Pixels.Fill(128);
        ImageCodec.SavePng(half, gray);
        var notImage = Path.Combine(s_root, "bad", "x.png");
        Directory.CreateDirectory(Path.GetDirectoryName(notImage)!);
        File.WriteAllText(notImage, "not an image");
        var image = Path.Combine(s_images, "a.png");
        foreach (var (args, message) in new (string[], string)[]
        {
            (new[] { "inpaint", "--mask", gray, "--image", image }, "pixel (0, 0) is 128; a mask holds only black (0: generate) and white (255: keep)"),
            (new[] { "inpaint", "--mask", s_mask, "--image", notImage }, "1 of 1 file(s) cannot be read as images"),
            (new[] { "inpaint", "--mask", s_mask, "--image", image, "--jump-length", "3" }, "--jump-length applies only with --jumps"),
            (new[] { "inpaint", "--mask", s_mask, "--image", image, "--sampler", "ddpm" }, "needs --sampler dpm-solver++ or ddim"),
            (new[] { "inpaint", "--mask", Path.Combine(s_root, "nowhere.png"), "--image", image }, "is neither an image file nor a folder"),
            (new[] { "edit", "--image", image, "--strength", "1.5" }, "--strength must be 0 to 1"),
            (new[] { "inpaint", "--mask", s_mask, "--image", image, "--jumps", "2", "--engine", "onnx" }, "RePaint (--jumps) draws fresh noise"),
            (new[] { "inpaint", "--mask", s_mask, "--image", image, "--jumps", "2", "--deterministic" }, "--deterministic and --jumps exclude each other"),
            (new[] { "edit", "--image", image, "--sampler", "ddpm", "--engine", "onnx" }, "--engine onnx runs a deterministic graph"),
            (new[] { "edit", "--image", image, "--device", "cuda", "--engine", "onnx" }, "--device cuda applies only to --engine torch"),
            (new[] { "edit", "--image", image, "--sampler", "heun" }, "edit runs --sampler dpm-solver++, ddim or ddpm, not heun"),
            (new[] { "inpaint", "--mask", s_mask, "--image", image, "--sampler", "euler", "--engine", "onnx" }, "inpaint runs --sampler dpm-solver++ or ddim (or DDPM steps with --jumps), not euler"),
        })
        {
            var target = Out("x.png");
            var (code, output, error) = Run([.. args, "--model", s_model, "--out", target]);
            Assert.AreEqual(1, code, $"{string.Join(" ", args)}: {output}");
            StringAssert.Contains(error, message);
            Assert.AreEqual(1, error.Trim().Split('\n').Length, error);
            Assert.IsFalse(Directory.Exists(Path.GetDirectoryName(target)), $"{string.Join(" ", args)} wrote something");
        }

        var (folderCode, _, folderError) = Run("edit", "--model", s_model, "--image", s_images, "--out", Out("x.png"));
        Assert.AreEqual(1, folderCode);
        StringAssert.Contains(folderError, "--image is a folder, so --out is a folder too");
    }
}
