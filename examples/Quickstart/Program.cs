using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Quickstart;

/// <summary>Trains a small conv net to predict the noise added to an image: the DDPM objective in miniature.</summary>
public static class Program
{
    /// <summary>Runs the example and prints the loss before and after training.</summary>
    public static void Main()
    {
        var (first, last) = Run(steps: 200);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"noise-prediction loss: {first:F4} -> {last:F4}"));
    }

    /// <summary>Trains for <paramref name="steps"/> steps; returns the first and last loss.</summary>
    public static (double First, double Last) Run(int steps)
    {
        // README example: begin
        torch.random.manual_seed(0);
        using var net = new Sequential(
            new Conv2d(1, 16, 3, padding: 1), new GroupNorm(4, 16), new SiLU(),
            new Conv2d(16, 1, 3, padding: 1));
        using var optimizer = new AdamW(net.parameters(), learningRate: 1e-2);

        // Eight copies of an 8×8 checkerboard in {-1, 1}.
        var board = Enumerable.Range(0, 64).Select(i => (i / 8 + i % 8) % 2 == 0 ? 1f : -1f);
        using var clean = torch.tensor(Enumerable.Repeat(board, 8).SelectMany(b => b).ToArray(), [8, 1, 8, 8]);

        double first = 0, last = 0;
        for (var step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();        // frees this step's tensors
            var noise = LibTorch.RandnLike(clean);
            var noisy = clean + noise * 0.5;
            var loss = nn.functional.mse_loss(net.Forward(noisy), noise);  // predict the noise
            optimizer.ZeroGrad();
            loss.backward();
            optimizer.Step();
            last = loss.ToDouble();
            if (step == 0) first = last;
        }
        // README example: end

        return (first, last);
    }
}
