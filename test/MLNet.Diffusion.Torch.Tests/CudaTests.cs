using MLNet.Diffusion.Torch.Nn;
using MLNet.Diffusion.Torch.Optim;

namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class CudaTests
{
    [TestMethod]
    public void Device_WithoutCuda_ResolvesAutoToCpuAndRefusesCuda()
    {
        if (CudaDevice.IsAvailable)
        {
            Assert.AreEqual(Device.Cuda(0), Device.Auto);
            return;
        }

        Assert.AreEqual(Device.Cpu, Device.Auto);
        Assert.AreEqual(0, CudaDevice.DeviceCount);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => LibTorch.Zeros([2], device: Device.Cuda()));
        StringAssert.Contains(ex.Message, "cuda:0 was requested but CUDA is not available");
        using var t = LibTorch.Zeros([2]);
        Assert.ThrowsExactly<InvalidOperationException>(() => t.To(Device.Cuda()));
        Assert.ThrowsExactly<InvalidOperationException>(() => new Generator(1, Device.Cuda()));
    }

    [TestMethod]
    public void Device_ParseAndFormat_UsePyTorchSpelling()
    {
        Assert.AreEqual(Device.Cpu, Device.Parse("CPU"));
        Assert.AreEqual(Device.Cuda(1), Device.Parse("cuda:1"));
        Assert.AreEqual("cuda:1", Device.Cuda(1).ToString());
        Assert.AreEqual("cpu", Device.Cpu.ToString());
    }

    [TestMethod]
    [TestCategory("Cuda")]
    public void Cuda_TensorRoundTripAndOps_MatchTheCpu()
    {
        RequireCuda();
        using var scope = LibTorch.NewDisposeScope();
        var cpu = LibTorch.Randn([4, 3, 8, 8]);
        var gpu = cpu.To(Device.Cuda());
        Assert.AreEqual(Device.Cuda(0), gpu.Device);
        var w = LibTorch.Randn([5, 3, 3, 3]);
        var expected = Functional.Conv2d(cpu, w, padding: 1);
        var actual = Functional.Conv2d(gpu, w.To(Device.Cuda()), padding: 1).To(Device.Cpu);
        Assert.IsTrue(expected.AllClose(actual, 1e-3, 1e-3));
        CollectionAssert.AreEqual(cpu.ToArray<float>(), gpu.ToArray<float>());
    }

    [TestMethod]
    [TestCategory("Cuda")]
    public void Cuda_Generator_IsReproducible()
    {
        RequireCuda();
        using var scope = LibTorch.NewDisposeScope();
        using var a = new Generator(9, Device.Cuda());
        using var b = new Generator(9, Device.Cuda());
        CollectionAssert.AreEqual(
            LibTorch.Randn([64], a, device: Device.Cuda()).ToArray<float>(),
            LibTorch.Randn([64], b, device: Device.Cuda()).ToArray<float>());
    }

    [TestMethod]
    [TestCategory("Cuda")]
    public void Cuda_ModuleTrainingStep_RunsOnTheGpu()
    {
        RequireCuda();
        using var net = new Sequential(new Conv2d(1, 4, 3, padding: 1), new GroupNorm(2, 4), new SiLU(), new Conv2d(4, 1, 1));
        net.To(Device.Cuda());
        using var optimizer = new AdamW(net.Parameters());
        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.Randn([2, 1, 8, 8], device: Device.Cuda());
        var loss = Functional.MseLoss(net.Forward(x), LibTorch.ZerosLike(x));
        loss.Backward();
        optimizer.Step();
        Assert.AreEqual(Device.Cuda(0), net.Parameters()[0].Device);
        Assert.IsTrue(double.IsFinite(loss.ToDouble()));
    }

    private static void RequireCuda()
    {
        if (!CudaDevice.IsAvailable)
        {
            Assert.Inconclusive("No CUDA device: this test runs on a GPU machine.");
        }
    }
}
