using MLNet.Diffusion.Bench;
using TorchSharp;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Tests.Bench;

/// <summary>
/// The ONNX Runtime / TorchSharp / PyTorch sampling benchmark (<c>./build.sh bench --onnx</c>,
/// bench/MLNet.Diffusion.Bench/OnnxSampleBenchmark.cs) at test size: its agreement check passes and its report has its
/// lines. Inconclusive where Debian's python3-torch is absent, as the other PyTorch cross-checks.
/// </summary>
[TestClass]
public sealed class OnnxSampleBenchmarkTests
{
    [TestMethod]
    public void Run_TinyUNetOneRound_AgreesAndReportsPerStepTimes()
    {
        DebianPython.RequireTorchOrInconclusive();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var threads = torch.get_num_threads();
        int code;
        try
        {
            code = BenchApp.Run(
                ["--onnx", "--preset", "tiny", "--batch-size", "2", "--image-size", "16", "--steps", "3", "--rounds", "1", "--threads", "1", "--malloc", "default"],
                output, error);
        }
        finally
        {
            torch.set_num_threads(threads);  // the benchmark sets this process's TorchSharp threads
        }

        var text = output.ToString();
        Console.WriteLine(text);
        Assert.AreEqual(0, code, $"{text}\n{error}");
        foreach (var line in new[]
        {
            "check x_T: ONNX Runtime's counter-based noise from the seeds against SamplingNoise.Initial of the same seeds: largest difference 0",
            "ONNX Runtime vs TorchSharp: largest difference",
            "PyTorch vs TorchSharp: largest difference",
            "agreement: the three engines compute the same samples",
            "round 1/1  per step: ONNX Runtime",
            "per step = (T_3 − T_1)/2",
            "ORT/TorchSharp per step",
            "PyTorch/ORT per step",
            "peak RSS of PyTorch's process",
        })
        {
            StringAssert.Contains(text, line);
        }

        foreach (var engine in new[] { "ONNX Runtime", "TorchSharp", "PyTorch" })
        {
            Assert.IsTrue(text.Split('\n').Any(l => l.StartsWith(engine + " ", StringComparison.Ordinal) && l.Contains('.', StringComparison.Ordinal)),
                $"no summary row for {engine}:\n{text}");
        }
    }

    [TestMethod]
    public void Run_StepsBelowTwo_IsAUsageError()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.AreEqual(2, BenchApp.Run(["--onnx", "--steps", "1"], output, error));
        StringAssert.Contains(error.ToString(), "--steps needs a whole number ≥ 2");
        Assert.AreEqual(string.Empty, output.ToString());
    }

    [TestMethod]
    public void Run_UnknownArgument_IsAUsageError()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.AreEqual(2, BenchApp.Run(["--onnx", "--iterations", "3"], output, error));
        StringAssert.Contains(error.ToString(), "Unknown argument '--iterations'");
    }
}
