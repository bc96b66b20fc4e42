namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class AutocastTests
{
    [TestMethod]
    public void CpuAutocast_RunsLinearInBFloat16AndRestoresOnDispose()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.Randn([4, 8]);
        var w = LibTorch.Randn([3, 8]);
        Assert.IsFalse(Autocast.IsEnabled(DeviceType.Cpu));
        using (Autocast.Enable(Device.Cpu))
        {
            Assert.IsTrue(Autocast.IsEnabled(DeviceType.Cpu));
            var y = Functional.Linear(x, w);
            Assert.AreEqual(ScalarType.BFloat16, y.Dtype, "linear is on autocast's lower-precision list");
            Assert.IsTrue(y.To(ScalarType.Float32).AllClose(Functional.Linear(x.To(ScalarType.BFloat16), w.To(ScalarType.BFloat16)).To(ScalarType.Float32)));
            Assert.AreEqual(ScalarType.Float32, (x + 1).Dtype, "elementwise ops keep float32");
        }

        Assert.IsFalse(Autocast.IsEnabled(DeviceType.Cpu));
        Assert.AreEqual(ScalarType.Float32, Functional.Linear(x, w).Dtype);
    }

    [TestMethod]
    public void Autocast_NestsAndRejectsFullPrecision()
    {
        using (Autocast.Enable(Device.Cpu))
        {
            using (Autocast.Enable(Device.Cpu))
            {
                Assert.IsTrue(Autocast.IsEnabled(DeviceType.Cpu));
            }

            Assert.IsTrue(Autocast.IsEnabled(DeviceType.Cpu), "the outer scope is still open");
        }

        Assert.IsFalse(Autocast.IsEnabled(DeviceType.Cpu));
        Assert.ThrowsExactly<ArgumentException>(() => Autocast.Enable(Device.Cpu, ScalarType.Float32));
    }

    [TestMethod]
    [TestCategory("Cuda")]
    public void CudaAutocast_RunsConvolutionsInBFloat16()
    {
        if (!CudaDevice.IsAvailable)
        {
            Assert.Inconclusive("No CUDA device: this test runs on a GPU machine.");
        }

        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.Randn([2, 3, 8, 8], device: Device.Cuda());
        var w = LibTorch.Randn([4, 3, 3, 3], device: Device.Cuda());
        using (Autocast.Enable(Device.Cuda()))
        {
            Assert.AreEqual(ScalarType.BFloat16, Functional.Conv2d(x, w, padding: 1).Dtype);
        }
    }
}
