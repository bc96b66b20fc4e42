using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.Engine;

/// <summary>Devices as options name them, and the CUDA path (its tests are inconclusive on a machine without a GPU).</summary>
[TestClass]
public sealed class DeviceTests
{
    [TestMethod]
    [DataRow("cpu", DeviceType.CPU, -1)]
    [DataRow(" CPU ", DeviceType.CPU, -1)]
    [DataRow("cuda", DeviceType.CUDA, 0)]
    [DataRow("cuda:1", DeviceType.CUDA, 1)]
    public void Parse_PyTorchSpellings_GiveTheDevice(string text, DeviceType type, int index)
    {
        var device = Devices.Parse(text);
        Assert.AreEqual(type, device.type);
        if (type == DeviceType.CUDA)
        {
            Assert.AreEqual(index, device.index);
        }
    }

    [TestMethod]
    [DataRow("gpu")]
    [DataRow("cuda:")]
    [DataRow("cuda:-1")]
    [DataRow("")]
    public void Parse_AnythingElse_NamesTheAcceptedForms(string text)
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Devices.Parse(text));
        StringAssert.Contains(ex.Message, "accepted: cpu, cuda, cuda:N, auto");
    }

    [TestMethod]
    public void Auto_WithoutCuda_IsTheCpu_AndCudaIsRefusedNamingThePackage()
    {
        if (torch.cuda.is_available())
        {
            Assert.AreEqual(DeviceType.CUDA, Devices.Parse("auto").type);
            return;
        }

        Assert.AreEqual(DeviceType.CPU, Devices.Parse("auto").type);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => Devices.Parse("cuda:0").EnsureAvailable());
        StringAssert.Contains(ex.Message, "TorchSharp-cuda-linux");
        var trainer = new DdpmTrainer(new DdpmTrainerOptions { Device = "cuda", MaxSteps = 1, SampleGridSize = 0 });
        using var images = torch.zeros(2, 1, 8, 8);
        using var data = new TensorTrainingData(images);
        Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Train(data));
    }

    [TestMethod]
    [TestCategory("Cuda")]
    public void Cuda_UNetForward_MatchesTheCpu()
    {
        RequireCuda();
        torch.random.manual_seed(4);
        using var model = new UNet2D(UNetConfig.Preset("tiny", 16, 3, numClasses: 4));
        using (torch.no_grad())
        {
            foreach (var p in model.parameters())
            {
                p.add_(torch.randn_like(p) * 0.05);  // away from the zero-initialised output layer
            }
        }

        model.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn(2, 3, 16, 16);
        var t = torch.tensor(new long[] { 3, 700 });
        var labels = torch.tensor(new long[] { 1, 4 });
        var expected = model.Forward(x, t, labels);
        model.to(new Device(DeviceType.CUDA, 0));
        var actual = model.Forward(x.cuda(), t.cuda(), labels.cuda()).cpu();
        var scale = expected.abs().max().ToDouble();
        var difference = (expected - actual).abs().max().ToDouble();
        Console.WriteLine($"largest CPU/GPU difference {difference:E2} of {scale:E2}");
        Assert.IsTrue(difference <= 1e-3 * scale, $"difference {difference} of {scale}");
    }

    [TestMethod]
    [TestCategory("Cuda")]
    public void Cuda_TrainAndGenerate_SeedGivesTheCpuNoise()
    {
        RequireCuda();
        using var images = torch.rand(8, 1, 8, 8) * 2 - 1;
        using var data = new TensorTrainingData(images);
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 8, 1), Schedule = new NoiseScheduleOptions { TrainTimesteps = 50 },
            BatchSize = 4, MaxSteps = 3, Device = "cuda", SampleGridSize = 0,
        };
        using var result = new DdpmTrainer(options).Train(data);
        Assert.AreEqual(DeviceType.CUDA, result.EmaModel.parameters().First().device_type);
        Assert.IsTrue(result.Losses.All(double.IsFinite));
        using var model = DiffusionModel.FromTraining(result);
        using var onGpu = model.Generate(2, new GenerationOptions { Steps = 5, Seed = 3, Device = "cuda" });
        using var onCpu = model.Generate(2, new GenerationOptions { Steps = 5, Seed = 3, Device = "cpu" });
        var difference = (onGpu.cpu() - onCpu).abs().max().ToDouble();
        Console.WriteLine($"largest CPU/GPU image difference {difference:E2}");
        Assert.IsTrue(difference < 1e-2, $"one seed gave images {difference} apart on the GPU and the CPU");
    }

    private static void RequireCuda()
    {
        if (!torch.cuda.is_available())
        {
            Assert.Inconclusive("No CUDA device in this process (TorchSharp-cpu, or no GPU): this test runs on a GPU machine.");
        }
    }
}
