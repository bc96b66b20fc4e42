using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Tests.Training;

/// <summary>The trainer's AdamW step gives TorchSharp's AdamW.step numbers, bit for bit, so checkpoints and the PyTorch agreement hold.</summary>
[TestClass]
public sealed class AdamWStepTests
{
    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.01)]
    public void Step_MatchesTorchSharpsAdamWExactly(double weightDecay)
    {
        torch.manual_seed(3);
        using var ours = new UNet2D(UNetConfig.Preset("tiny", imageSize: 8, channels: 1, numClasses: 3));
        using var theirs = new UNet2D(ours.Config);
        theirs.LoadStateDict(ours.state_dict());
        using var ourOptimizer = AdamWState.Create(ours.parameters(), learningRate: 1e-3, weightDecay: weightDecay);
        using var theirOptimizer = AdamWState.Create(theirs.parameters(), learningRate: 1e-3, weightDecay: weightDecay);
        var generator = new Generator(7);
        for (var step = 0; step < 5; step++)
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.randn([4, 1, 8, 8], generator: generator);
            var t = torch.randint(0, 1000, [4], ScalarType.Int64, generator: generator);
            var labels = torch.tensor(new long[] { 0, 1, 2, 3 });
            var rate = step < 3 ? 1e-3 * (step + 1) : 5e-4;        // a warm-up, then a change, as the trainer sets it
            ourOptimizer.SetLearningRate(rate);
            theirOptimizer.SetLearningRate(rate);
            foreach (var (model, optimizer, ourStep) in new[] { (ours, ourOptimizer, true), (theirs, theirOptimizer, false) })
            {
                optimizer.zero_grad();
                model.Forward(x, t, labels).square().mean().backward();
                if (ourStep)
                {
                    AdamWState.Step(optimizer);
                }
                else
                {
                    optimizer.step();
                }
            }
        }

        var (a, b) = (ours.state_dict(), theirs.state_dict());
        foreach (var (name, value) in a)
        {
            Assert.IsTrue(value.equal(b[name]).all().item<bool>(), $"{name} differs after five steps");
        }

        var (ourState, theirState) = (AdamWState.Save(ourOptimizer), AdamWState.Save(theirOptimizer));
        Assert.AreEqual(theirState.Count, ourState.Count);
        foreach (var (name, value) in ourState)
        {
            Assert.IsTrue(value.equal(theirState[name]).all().item<bool>(), $"optimiser state {name} differs");
            value.Dispose();
            theirState[name].Dispose();
        }
    }
}
