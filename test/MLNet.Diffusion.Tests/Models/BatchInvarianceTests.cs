using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.InvarianceCheck;
using MLNet.Diffusion.Onnx;
using MLNet.Diffusion.Tests.Engine;
using MLNet.Diffusion.Tests.Pipeline;
using TorchSharp;

namespace MLNet.Diffusion.Tests.Models;

/// <summary>
/// One seed and label give one image, the same float32 values whatever the batch it is generated in (1 to 64 images),
/// its position there, the other images' seeds and labels, the guidance and the path (<c>Generate</c>, <c>Transform</c>
/// with a partial last batch, a <c>PredictionEngine</c>); on 1 and 2 threads, and in child processes under an emulated
/// AVX2 host and with oneMKL in its own default mode. The model is <see cref="GenerationInvariance.CreateModel"/>'s:
/// random weights everywhere, RGB 6 × 6 (with AVX-512, SiLU needs its padded layout), attention over 9 pixels with one
/// head.
/// </summary>
[TestClass]
public sealed class BatchInvarianceTests
{
    private const int Label = 1;
    private static DiffusionModel? s_model;

    [ClassInitialize]
    public static void CreateModel(TestContext context) => s_model = GenerationInvariance.CreateModel();

    [ClassCleanup]
    public static void Cleanup() => s_model?.Dispose();

    private static DiffusionModel Model => s_model!;

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void Generate_AnImageIsTheSameInEveryBatchSizePositionAndGuidance(int threads)
    {
        var mismatches = Threads.With(threads, () => GenerationInvariance.Mismatches(Model, Label));
        Assert.IsEmpty(mismatches, string.Join("\n", mismatches));
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void ForwardAt_OtherAttentionShapes_RowsDoNotDependOnTheBatch(int threads)
    {
        var mismatches = Threads.With(threads, GenerationInvariance.ForwardMismatches);
        Assert.IsEmpty(mismatches, string.Join(", ", mismatches));
    }

    [TestMethod]
    public void Generate_OneAndTwoThreads_GiveTheSameImage()
    {
        foreach (var guidance in new[] { 1.0, 2.0 })
        {
            var one = Threads.With(1, () => GenerationInvariance.Alone(Model, Label, guidance));
            var two = Threads.With(2, () => GenerationInvariance.Alone(Model, Label, guidance));
            CollectionAssert.AreEqual(one, two, $"guidance {guidance}");
        }
    }

    [TestMethod]
    public void Transform_ImagesOfAPartialLastBatch_AreTheImagesOfGenerate()
    {
        var ml = new MLContext(seed: 1);
        using var model = GenerationInvariance.CreateModel();  // its own: the transform settings below are the model's
        model.TransformOptions = new GenerationOptions { Steps = 4, Guidance = 2 };
        model.TransformBatchSize = 16;
        // 20 rows: a batch of 16, then one of 4 that ends with the checked seed.
        var rows = Enumerable.Range(0, 20).Select(i => new PipelineDocsTests.SeedInput { Seed = (long)GenerationInvariance.Seed - 19 + i, Label = i == 19 ? Label : (i % 4) - 1 });
        var pixels = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>(model.PixelsColumnName).ToArray();
        CollectionAssert.AreEqual(Pixels(GenerationInvariance.Alone(model, Label, 2)), pixels[19]);
    }

    [TestMethod]
    public void PredictionEngine_AnImageIsItsImageInABatch()
    {
        var ml = new MLContext(seed: 1);
        using var model = GenerationInvariance.CreateModel();
        model.TransformOptions = new GenerationOptions { Steps = 4, Guidance = 1 };
        var engine = ml.Model.CreatePredictionEngine<PipelineDocsTests.SeedInput, PixelsRow>(model, ignoreMissingColumns: true);
        var predicted = engine.Predict(new PipelineDocsTests.SeedInput { Seed = (long)GenerationInvariance.Seed, Label = Label }).Pixels;
        using var batch = model.Generate(5, GenerationInvariance.Options(GenerationInvariance.Seed - 3, [0, -1, 2, Label, 1], 1));
        using var row = batch[3];
        CollectionAssert.AreEqual(Pixels(row.data<float>().ToArray()), predicted);
    }

    [TestMethod]
    [DataRow(1.0)]
    [DataRow(2.0)]
    public void OnnxEngine_AnImageDoesNotDependOnItsBatch(double guidance)
    {
        // ONNX Runtime runs its own kernels; the claim there is about the host's ISA, and MKL settings do not apply.
        using var generator = new OnnxGenerator(Model.ToOnnx(new GenerationOptions { Steps = 4, Guidance = guidance }));
        var size = generator.Channels * generator.ImageSize * generator.ImageSize;
        var alone = generator.Generate([(long)GenerationInvariance.Seed], [Label]);
        var mismatches = new List<string>();
        foreach (var batch in new[] { 2, 5, 16 })
        {
            foreach (var position in new[] { 0, batch / 2, batch - 1 }.Distinct())
            {
                var seeds = Enumerable.Range(0, batch).Select(i => (long)GenerationInvariance.Seed - position + i).ToArray();
                var labels = Enumerable.Range(0, batch).Select(i => i == position ? Label : (long)((i % 4) - 1)).ToArray();
                var image = generator.Generate(seeds, labels).AsSpan(position * size, size);
                if (!image.SequenceEqual(alone))
                {
                    mismatches.Add($"batch {batch}, position {position}");
                }
            }
        }

        Assert.IsEmpty(mismatches, string.Join(", ", mismatches));
    }

    [TestMethod]
    public void ChildProcess_EmulatedAvx2Host_FindsNoBatchDependence()
    {
        // oneMKL's AVX2 branch (on Intel; on AMD oneMKL ignores the branch), oneDNN's and ATen's own AVX2 kernels: roughly
        // an AVX2-only EPYC host on an AVX-512 machine.
        var output = RunCheck([], new() { ["MKL_CBWR"] = "AVX2,STRICT", ["ONEDNN_MAX_CPU_ISA"] = "AVX2", ["ATEN_CPU_CAPABILITY"] = "avx2" });
        StringAssert.Contains(output, "ONEDNN_MAX_CPU_ISA AVX2");
    }

    [TestMethod]
    public void ChildProcess_OneMklInItsDefaultMode_FindsNoBatchDependence_AndMakesTheImagesOfThisProcess()
    {
        // An app that runs TorchSharp before any MLNet.Diffusion code: oneMKL reads MKL_CBWR at its first matrix product,
        // before the library could set it. Nothing of the sampling forward goes through oneMKL outside a parallel loop,
        // so the images are this process's, whose library set AUTO,STRICT.
        var output = RunCheck(["--torch-first"], new() { ["MKL_CBWR"] = null });
        StringAssert.Contains(output, "MKL_CBWR before the first matrix product: (unset)");
        foreach (var guidance in new[] { 1.0, 2.0 })
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(GenerationInvariance.Alone(Model, Label, guidance).AsSpan());
            StringAssert.Contains(output, $"image at guidance {guidance}: SHA-256 {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))}");
        }
    }

    private static float[] Pixels(float[] values) => [.. values.Select(v => (float)Model.Preprocessing.ToPixel(v))];

    /// <summary>
    /// Runs test/MLNet.Diffusion.InvarianceCheck with this test assembly's runtimeconfig and deps.json (its TorchSharp-cpu
    /// brings libtorch) and <paramref name="environment"/> changes (null removes a variable); asserts it found no
    /// mismatch and returns its output.
    /// </summary>
    private static string RunCheck(string[] arguments, Dictionary<string, string?> environment)
    {
        var folder = AppContext.BaseDirectory;
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["exec", "--runtimeconfig", Path.Combine(folder, "MLNet.Diffusion.Tests.runtimeconfig.json"),
            "--depsfile", Path.Combine(folder, "MLNet.Diffusion.Tests.deps.json"), Path.Combine(folder, "MLNet.Diffusion.InvarianceCheck.dll"), .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
            if (value is null)
            {
                info.Environment.Remove(name);
            }
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"the check ran past 2 minutes:\n{stdout.Result}\n{stderr.Result}");
        }

        process.WaitForExit();
        Console.WriteLine(stdout.Result);
        Assert.AreEqual(0, process.ExitCode, $"{stdout.Result}\n{stderr.Result}");
        StringAssert.Contains(stdout.Result, "0 mismatching batches");
        return stdout.Result;
    }

    public sealed class PixelsRow
    {
        [VectorType(3, 6, 6)]
        public float[] Pixels { get; set; } = [];
    }
}
