namespace MLNet.Diffusion.Torch.Tests;

/// <summary>A bad shape or argument in every area is a managed exception with libtorch's message — never a crash.</summary>
[TestClass]
public sealed class ErrorTests
{
    [TestMethod]
    public void Arithmetic_ShapeMismatch_ThrowsTorchException()
    {
        using var scope = LibTorch.NewDisposeScope();
        var ex = Assert.ThrowsExactly<TorchException>(() => LibTorch.Zeros([2, 3]) + LibTorch.Zeros([4]));
        StringAssert.Contains(ex.Message, "must match the size of tensor b");
        Assert.ThrowsExactly<TorchException>(() => LibTorch.Zeros([2, 3]).MatMul(LibTorch.Zeros([2, 3])));
    }

    [TestMethod]
    public void ShapeOps_BadArguments_ThrowTorchException()
    {
        using var scope = LibTorch.NewDisposeScope();
        var t = LibTorch.Zeros([2, 3]);
        StringAssert.Contains(Assert.ThrowsExactly<TorchException>(() => t.Reshape(4, 2)).Message, "invalid for input of size 6");
        Assert.ThrowsExactly<TorchException>(() => t.Transpose(0, 1).View(6));
        Assert.ThrowsExactly<TorchException>(() => t.Permute(0));
        Assert.ThrowsExactly<TorchException>(() => t.Select(0, 5));
        Assert.ThrowsExactly<TorchException>(() => t.Unsqueeze(7));
        Assert.ThrowsExactly<TorchException>(() => LibTorch.Cat([t, LibTorch.Zeros([3, 2])], 0));
        Assert.ThrowsExactly<TorchException>(() => t.IndexSelect(1, LibTorch.FromArray(new long[] { 9 })));
        Assert.ThrowsExactly<TorchException>(() => t.Gather(1, LibTorch.FromArray(new float[] { 0 }, [1, 1])));
    }

    [TestMethod]
    public void Functional_BadShapes_ThrowTorchException()
    {
        using var scope = LibTorch.NewDisposeScope();
        var image = LibTorch.Zeros([1, 3, 8, 8]);
        StringAssert.Contains(Assert.ThrowsExactly<TorchException>(() => Functional.Conv2d(image, LibTorch.Zeros([4, 2, 3, 3]))).Message, "expected input");
        Assert.ThrowsExactly<TorchException>(() => Functional.ConvTranspose2d(image, LibTorch.Zeros([2, 4, 3, 3])));
        Assert.ThrowsExactly<TorchException>(() => Functional.Linear(LibTorch.Zeros([2, 5]), LibTorch.Zeros([3, 4])));
        Assert.ThrowsExactly<TorchException>(() => Functional.GroupNorm(image, 2));
        Assert.ThrowsExactly<TorchException>(() => Functional.LayerNorm(image, [7]));
        Assert.ThrowsExactly<TorchException>(() => Functional.ScaledDotProductAttention(LibTorch.Zeros([1, 4, 8]), LibTorch.Zeros([1, 4, 6]), LibTorch.Zeros([1, 4, 8])));
        Assert.ThrowsExactly<TorchException>(() => Functional.MseLoss(LibTorch.Zeros([2]), LibTorch.Zeros([3])));
        Assert.ThrowsExactly<TorchException>(() => Functional.CrossEntropy(LibTorch.Zeros([2, 3]), LibTorch.FromArray(new long[] { 0, 5 })));
        Assert.ThrowsExactly<TorchException>(() => Functional.Embedding(LibTorch.Zeros([3, 2]), LibTorch.FromArray(new long[] { 3 })));
        Assert.ThrowsExactly<TorchException>(() => Functional.AvgPool2d(LibTorch.Zeros([1, 1, 1, 1]), 3));
        Assert.ThrowsExactly<TorchException>(() => Functional.Interpolate(LibTorch.Zeros([4]), 2, 2));
    }

    [TestMethod]
    public void ManagedValidation_ThrowsArgumentExceptionsNamingTheParameter()
    {
        using var scope = LibTorch.NewDisposeScope();
        Assert.AreEqual("shape", Assert.ThrowsExactly<ArgumentException>(() => LibTorch.Zeros([2, -1])).ParamName);
        Assert.AreEqual("high", Assert.ThrowsExactly<ArgumentException>(() => LibTorch.RandInt(5, 5, [1])).ParamName);
        Assert.AreEqual("step", Assert.ThrowsExactly<ArgumentException>(() => LibTorch.Arange(0, 5, 0)).ParamName);
        Assert.AreEqual("p", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Functional.Dropout(LibTorch.Zeros([1]), 1.5)).ParamName);
        Assert.ThrowsExactly<ArgumentException>(() => LibTorch.Cat([], 0));
        Assert.ThrowsExactly<ArgumentException>(() => LibTorch.Zeros([1]).Clamp());
        Assert.ThrowsExactly<ArgumentException>(() => LibTorch.FromArray(new float[] { 1, 2, 3 }, [2, 2]));
        Assert.ThrowsExactly<ArgumentException>(() => Device.Parse("tpu"));
    }

    [TestMethod]
    public void Autograd_Misuse_ThrowsTorchException()
    {
        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.Ones([3], requiresGrad: true);
        // backward() of a non-scalar needs a gradient argument.
        StringAssert.Contains(Assert.ThrowsExactly<TorchException>(() => (x * 2).Backward()).Message, "scalar outputs");
        // backward() through a graph that records nothing.
        Assert.ThrowsExactly<TorchException>(() => LibTorch.Ones([1]).Sum().Backward());
        // requires_grad on a non-leaf cannot be switched off.
        Assert.ThrowsExactly<TorchException>(() => (x * 2).RequiresGrad = false);
        // An integer tensor cannot require gradients.
        Assert.ThrowsExactly<TorchException>(() => LibTorch.Zeros([1], ScalarType.Int64).RequiresGrad = true);
    }

    [TestMethod]
    public void Conversions_WrongElementType_ExplainsTheFix()
    {
        using var t = LibTorch.Zeros([2]);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => t.ToArray<long>());
        StringAssert.Contains(ex.Message, "float32");
        StringAssert.Contains(ex.Message, "To(ScalarType.Int64)");
        Assert.ThrowsExactly<TorchException>(() => LibTorch.Zeros([2]).ToDouble());
        Assert.ThrowsExactly<TorchException>(() => LibTorch.Zeros([2]).To(ScalarType.Float64).Reshape(2, 1).Chunk(1, 5));
    }

    [TestMethod]
    public void Generator_BadState_ThrowsTorchException()
    {
        using var g = new Generator(1);
        using var wrong = LibTorch.Zeros([3], ScalarType.UInt8);
        Assert.ThrowsExactly<TorchException>(() => g.SetState(wrong));
    }

    [TestMethod]
    public void DisposedTensor_ThrowsObjectDisposedExceptionWithAdvice()
    {
        var t = LibTorch.Zeros([2]);
        t.Dispose();
        Assert.IsTrue(t.IsDisposed);
        var ex = Assert.ThrowsExactly<ObjectDisposedException>(() => t.Sum());
        StringAssert.Contains(ex.Message, "MoveToOuterScope");
        Assert.AreEqual("Tensor (disposed)", t.ToString());
        t.Dispose();  // a second dispose is harmless
    }

    [TestMethod]
    public void ErrorMessages_AreKeptPerThread()
    {
        // Each thread reads its own last error, so concurrent failures do not swap messages.
        var messages = new string[2];
        Parallel.For(0, 2, i =>
        {
            for (var k = 0; k < 50; k++)
            {
                using var a = LibTorch.Zeros([i + 2]);
                using var b = LibTorch.Zeros([5]);
                messages[i] = Assert.ThrowsExactly<TorchException>(() => a + b).Message;
                StringAssert.Contains(messages[i], $"size of tensor a ({i + 2})");
            }
        });
    }
}
