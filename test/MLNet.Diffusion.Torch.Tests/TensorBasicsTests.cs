namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class TensorBasicsTests
{
    [TestMethod]
    public void FromArray_RoundTrip_KeepsValuesShapeAndType()
    {
        using var t = Torch.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        CollectionAssert.AreEqual(new long[] { 2, 3 }, t.Shape);
        Assert.AreEqual(ScalarType.Float32, t.Dtype);
        Assert.AreEqual(Device.Cpu, t.Device);
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4, 5, 6 }, t.ToArray<float>());
    }

    [TestMethod]
    public void Add_ShapeMismatch_ThrowsTorchExceptionWithLibTorchMessage()
    {
        using var a = Torch.Zeros([2, 3]);
        using var b = Torch.Zeros([4]);
        var ex = Assert.ThrowsExactly<TorchException>(() => a + b);
        StringAssert.Contains(ex.Message, "must match");
    }
}
