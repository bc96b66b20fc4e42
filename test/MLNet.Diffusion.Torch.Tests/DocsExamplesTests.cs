using MLNet.Diffusion.Torch.Nn;
using MLNet.Diffusion.Torch.Optim;

namespace MLNet.Diffusion.Torch.Tests;

/// <summary>The code blocks of docs/binding.md, compiled and run. RepositoryTests checks that each block is here verbatim.</summary>
[TestClass]
public sealed class DocsExamplesTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Tensors_Example()
    {
        // docs: tensors
        using var scope = LibTorch.NewDisposeScope();
        var x = LibTorch.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var y = (x * 2 + 1).Sum([1]);                 // [2] float32: 15, 33
        float[] values = y.ToArray<float>();
        using var generator = new Generator(seed: 7);  // an independent, reproducible stream
        var noise = LibTorch.Randn([2, 3], generator);
        Console.WriteLine(noise);                     // Tensor[2, 3] float32 cpu [...]
        // end
        CollectionAssert.AreEqual(new float[] { 15, 33 }, values);
    }

    [TestMethod]
    public void Scopes_Example()
    {
        var baseline = LibTorch.LiveTensorCount;
        // docs: scopes
        Tensor result;
        using (var scope = LibTorch.NewDisposeScope())
        {
            var a = LibTorch.Ones([3]);
            var b = a * 2 + 1;                         // a, a * 2 and b belong to the scope
            result = scope.MoveToOuter(b.Sum());       // the result outlives it
        }                                              // a, a * 2 and b are freed here

        Console.WriteLine(result.ToDouble());          // 9
        result.Dispose();
        // end
        Assert.AreEqual(baseline, LibTorch.LiveTensorCount);
    }

    [TestMethod]
    public void Modules_Example()
    {
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), $"docs-{Guid.NewGuid():N}.safetensors");
        // docs: modules
        using var net = new Sequential(new Conv2d(3, 8, 3, padding: 1), new GroupNorm(4, 8), new SiLU());
        Console.WriteLine(net.ParameterCount);         // 3·8·9 + 8 + 8 + 8 = 240
        Console.WriteLine(string.Join(", ", net.StateDict().Keys));  // 0.weight, 0.bias, 1.weight, 1.bias

        Safetensors.Save(path, net.StateDict());       // readable by PyTorch's safetensors
        using var saved = Safetensors.Load(path);
        net.LoadStateDict(saved.Tensors);              // strict: names and shapes must match
        // end
        Assert.AreEqual(240, net.ParameterCount);
        File.Delete(path);
    }

    [TestMethod]
    public void Training_Example()
    {
        LibTorch.ManualSeed(1);
        using var model = new Linear(4, 1);
        using var inputs = LibTorch.Randn([16, 4]);
        using var targets = LibTorch.Randn([16, 1]);
        // docs: training
        using var optimizer = new AdamW(model.Parameters(), learningRate: 1e-3, weightDecay: 0.01);
        using var ema = new ExponentialMovingAverage(model, decay: 0.999);
        for (var step = 0; step < 100; step++)
        {
            using var scope = LibTorch.NewDisposeScope();
            var loss = Functional.MseLoss(model.Forward(inputs), targets);
            optimizer.ZeroGrad();
            loss.Backward();
            GradientClipping.ClipGradNorm(model.Parameters(), maxNorm: 1.0);
            optimizer.Step();
            ema.Update(model);
        }
        // end
        Assert.AreEqual(100, optimizer.StepCount);
    }

    [TestMethod]
    public void Inference_Example()
    {
        using var model = new Linear(4, 2);
        using var x = LibTorch.Randn([3, 4]);
        // docs: inference
        model.Eval();                                  // dropout off
        bool recorded;
        using (Autograd.InferenceMode())
        using (var scope = LibTorch.NewDisposeScope())
        {
            var y = model.Forward(x);
            recorded = y.RequiresGrad;                 // false: nothing is kept for backward
        }
        // end
        Assert.IsFalse(recorded);
        using var outside = model.Forward(x);
        Assert.IsTrue(outside.RequiresGrad, "outside the scope the same call records");
    }
}
