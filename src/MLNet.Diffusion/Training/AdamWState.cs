using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// TorchSharp's AdamW state in the checkpoint's own names: <c>step.{i}</c> (int64 scalar), <c>exp_avg.{i}</c> and
/// <c>exp_avg_sq.{i}</c> for the i-th parameter, the layout checkpoints of earlier versions used too.
/// </summary>
internal static class AdamWState
{
    /// <summary>
    /// An AdamW over <paramref name="parameters"/> with every hyper-parameter given: TorchSharp's default weight decay
    /// is 0, PyTorch's 0.01, so nothing is left to a default.
    /// </summary>
    internal static AdamW Create(IEnumerable<Parameter> parameters, double learningRate, double weightDecay,
        double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) =>
        torch.optim.AdamW(parameters, lr: learningRate, beta1: beta1, beta2: beta2, eps: epsilon, weight_decay: weightDecay);

    /// <summary>Sets the learning rate of every parameter group for the next step.</summary>
    internal static void SetLearningRate(this AdamW optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = learningRate;
        }
    }

    /// <summary>
    /// One AdamW step (Loshchilov and Hutter 2019, decoupled weight decay) over the optimiser's parameters and state,
    /// with exactly TorchSharp's <c>AdamW.step</c> operations in its order, so the numbers are its numbers. Why not its
    /// own: TorchSharp 0.107 passes temporary <see cref="Scalar"/>s (an <c>alpha</c> of 1, ε, the step size) to native
    /// code without keeping them alive, so a garbage collection started by another thread during the call may finalize
    /// one while libtorch reads it (seen as c10's "Expected false to be true" in <c>Scalar::toFloat</c>, once in some
    /// thousands of training steps). Here every scalar lives until the step returns.
    /// </summary>
    internal static void Step(AdamW optimizer)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var states = States(optimizer);
        var next = 0;
        using var one = 1.ToScalar();
        foreach (var group in optimizer.ParamGroups.Cast<AdamW.ParamGroup>())
        {
            var options = (AdamW.Options)group.Options;
            var (beta1, beta2, weightDecay, eps, lr) =
                (options.beta1!.Value, options.beta2!.Value, options.weight_decay!.Value, options.eps!.Value, options.LearningRate!.Value);
            if (options.maximize == true || options.amsgrad == true)
            {
                throw new NotSupportedException("AdamW with maximize or amsgrad is not what the trainer creates.");
            }

            using var decay = (1 - (lr * weightDecay)).ToScalar();
            using var b1 = beta1.ToScalar();
            using var oneMinusB1 = (1 - beta1).ToScalar();
            using var b2 = beta2.ToScalar();
            using var oneMinusB2 = (1 - beta2).ToScalar();
            using var epsilon = eps.ToScalar();
            foreach (var param in group.Parameters)
            {
                var state = states[next++];
                var grad = param.grad;
                if (grad is null)
                {
                    continue;
                }

                state.step += 1;
                param.mul_(decay);
                var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
                var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                state.exp_avg.mul_(b1).add_(grad, alpha: oneMinusB1);
                state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
                using var root = Math.Sqrt(biasCorrection2).ToScalar();
                var denom = state.exp_avg_sq.sqrt().div(root).add_(epsilon, one);
                using var stepSize = (-(lr / biasCorrection1)).ToScalar();
                param.addcdiv_(state.exp_avg, denom, value: stepSize);
            }
        }
    }

    /// <summary>Copies of the optimiser's state, owned by the caller.</summary>
    internal static Dictionary<string, Tensor> Save(AdamW optimizer)
    {
        var result = new Dictionary<string, Tensor>();
        var states = States(optimizer);
        for (var i = 0; i < states.Count; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            result["step." + key] = torch.tensor(states[i].step).DetachFromDisposeScope();
            result["exp_avg." + key] = states[i].exp_avg.cpu().clone().DetachFromDisposeScope();
            result["exp_avg_sq." + key] = states[i].exp_avg_sq.cpu().clone().DetachFromDisposeScope();
        }

        return result;
    }

    /// <summary>Restores state written by <see cref="Save"/>; every entry is checked before anything changes.</summary>
    /// <exception cref="ArgumentException">An entry is missing or has the wrong shape.</exception>
    internal static void Load(AdamW optimizer, IReadOnlyDictionary<string, Tensor> state)
    {
        var states = States(optimizer);
        var steps = new long[states.Count];
        for (var i = 0; i < states.Count; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            steps[i] = Get(state, "step." + key, []).ToInt64();
            Get(state, "exp_avg." + key, states[i].exp_avg.shape);
            Get(state, "exp_avg_sq." + key, states[i].exp_avg_sq.shape);
        }

        using var noGrad = torch.no_grad();
        for (var i = 0; i < states.Count; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            states[i].exp_avg.copy_(state["exp_avg." + key]);
            states[i].exp_avg_sq.copy_(state["exp_avg_sq." + key]);
            states[i].step = steps[i];
        }
    }

    private static List<AdamW.State> States(AdamW optimizer) =>
        [.. optimizer.state_dict().State.Cast<AdamW.State>()];

    private static Tensor Get(IReadOnlyDictionary<string, Tensor> state, string key, long[] shape)
    {
        if (!state.TryGetValue(key, out var t))
        {
            throw new ArgumentException($"AdamW state is missing '{key}'.", nameof(state));
        }

        if (!t.shape.AsSpan().SequenceEqual(shape))
        {
            throw new ArgumentException($"AdamW state '{key}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", shape)}].", nameof(state));
        }

        return t;
    }
}
