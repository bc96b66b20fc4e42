using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// (b) Forward and backward of <see cref="AttentionBlock"/> with loss = mean(output²); gradients are dropped at the
/// start of each iteration and there is no optimiser step. Mirrors <c>BlockBenchmark</c> in torch_bench.py.
/// </summary>
internal sealed class AttentionBlockBenchmark : IBenchmark
{
    // Shapes shared with torch_bench.py (BLOCK_INPUT, BLOCK_GROUPS, BLOCK_HEADS).
    private static readonly long[] s_inputShape = [8, 128, 16, 16];
    private const long Groups = 32;
    private const long Heads = 4;

    private readonly AttentionBlock _block;
    private readonly Tensor _input;

    public AttentionBlockBenchmark()
    {
        _block = new AttentionBlock(s_inputShape[1], Groups, Heads);
        _input = torch.randn(s_inputShape).DetachFromDisposeScope();
    }

    public string Command => "block";

    public string Title => "(b) attention block fwd+bwd [8,128,16,16]";

    public int BatchSize => (int)s_inputShape[0];

    public long ParameterCount => _block.ParameterCount();

    public IReadOnlyList<string> ProbeLabels { get; } = ["loss", "gradient L2 norm"];

    public IEnumerable<KeyValuePair<string, Tensor>> CheckTensors() => _block.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)).Append(new("input", _input));

    public double[] Probe()
    {
        using (torch.NewDisposeScope())
        {
            _block.zero_grad(set_to_none: true);
            var loss = _block.forward(_input).square().mean();
            loss.backward();
            var gradSquares = 0.0;
            foreach (var parameter in _block.parameters())
            {
                // Grad is a new handle on the gradient, owned by this scope; the gradient itself stays with the parameter.
                if (parameter.grad is { } grad)
                {
                    gradSquares += grad.square().sum().ToDouble();
                }
            }

            return [loss.ToDouble(), Math.Sqrt(gradSquares)];
        }
    }

    public double[] Run(int iterations) => Timing.Measure(iterations, Step);

    private void Step()
    {
        using (torch.NewDisposeScope())
        {
            _block.zero_grad(set_to_none: true);
            var output = _block.forward(_input);
            var loss = output.square().mean();
            loss.backward();
        }
    }

    public void Dispose()
    {
        _block.Dispose();
        _input.Dispose();
    }
}
