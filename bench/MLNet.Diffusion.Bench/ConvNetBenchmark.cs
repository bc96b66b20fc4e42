using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// (a) One training step of a small conv net: zero grad, forward, MSE against a fixed random target, backward,
/// AdamW step. Mirrors <c>ConvBenchmark</c> in torch_bench.py layer for layer.
/// </summary>
internal sealed class ConvNetBenchmark : IBenchmark
{
    // Shapes shared with torch_bench.py (CONV_INPUT, CONV_CHANNELS, CONV_GROUPS).
    private static readonly long[] s_inputShape = [16, 3, 32, 32];
    private const long Channels = 64;
    private const long Groups = 8;

    private readonly Sequential _model;
    private readonly AdamW _optimizer;
    private readonly Tensor _input;
    private readonly Tensor _target;

    public ConvNetBenchmark()
    {
        // nn.Sequential names its layers 0, 1, 2, ... as PyTorch's does, so the state-dict names match.
        _model = nn.Sequential(
            nn.Conv2d(3, Channels, 3, padding: 1),
            Layers.GroupNorm(Groups, Channels),
            nn.SiLU(),
            nn.Conv2d(Channels, Channels, 3, padding: 1),
            Layers.GroupNorm(Groups, Channels),
            nn.SiLU(),
            nn.Conv2d(Channels, 3, 3, padding: 1));

        // PyTorch: torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01).
        _optimizer = torch.optim.AdamW(_model.parameters(), lr: 1e-4, weight_decay: 0.01);
        _input = torch.randn(s_inputShape).DetachFromDisposeScope();
        _target = torch.randn(s_inputShape).DetachFromDisposeScope();
    }

    public string Command => "conv";

    public string Title => "(a) conv-net train step [16,3,32,32]";

    public int BatchSize => (int)s_inputShape[0];

    public long ParameterCount => _model.ParameterCount();

    public IReadOnlyList<string> ProbeLabels { get; } = ["loss", "loss after the AdamW step"];

    public IEnumerable<KeyValuePair<string, Tensor>> CheckTensors() =>
        _model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)).Append(new("input", _input)).Append(new("target", _target));

    public double[] Probe()
    {
        using (torch.NewDisposeScope())
        {
            _optimizer.zero_grad();
            var loss = nn.functional.mse_loss(_model.forward(_input), _target);
            loss.backward();
            _optimizer.step();
            using (torch.no_grad())
            {
                return [loss.ToDouble(), nn.functional.mse_loss(_model.forward(_input), _target).ToDouble()];
            }
        }
    }

    public double[] Run(int iterations) => Timing.Measure(iterations, Step);

    private void Step()
    {
        // One scope per step: the output, the loss and every handle made on the way are freed here, while the
        // parameters (detached from scopes when registered) and the optimiser state live on.
        using (torch.NewDisposeScope())
        {
            _optimizer.zero_grad();
            var output = _model.forward(_input);
            var loss = nn.functional.mse_loss(output, _target);
            loss.backward();
            _optimizer.step();
        }
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
        _input.Dispose();
        _target.Dispose();
    }
}
