using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): a second-order multistep solver of the
/// diffusion ODE in data prediction, for 10–25 steps. With α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t), λ_t = log(α_t/σ_t)
/// and h = λ_{t'} − λ_t, from x̂₀ predictions m (newest) and m₋₁ (previous step):
/// <list type="number">
/// <item>first order (the first step, and the last): x_{t'} = (σ_{t'}/σ_t)·x_t − α_{t'}·(e^{−h} − 1)·m;</item>
/// <item>second order: r = h₋₁/h, D = m + (m − m₋₁)/(2r), x_{t'} = (σ_{t'}/σ_t)·x_t − α_{t'}·(e^{−h} − 1)·D.</item>
/// </list>
/// The last step goes to σ = 0, where it returns x̂₀. Deterministic.
/// </summary>
public sealed class DpmSolverMultistepSampler : DiffusionSampler
{
    private Tensor? _previousSample;
    private double _previousLambda;
    private int _stepIndex;

    /// <summary>Creates the sampler.</summary>
    public DpmSolverMultistepSampler(NoiseSchedule schedule, SamplerOptions? options = null)
        : base(schedule, options)
    {
    }

    /// <inheritdoc/>
    public override bool IsStochastic => false;

    /// <summary>
    /// <see cref="TimestepSpacing.Tapered"/>: t_i = (T − 1)·((n − i)/n)^1.5. The last step jumps to x̂₀ from the run's
    /// smallest timestep, so that one should be small (even steps in t leave it at T/n, where on the linear schedule
    /// samples lose variance); equal steps in λ (<see cref="TimestepSpacing.LogSnr"/>, the solver paper's choice) crowd the
    /// noisy end of the cosine schedule. docs/schedulers.md has the measurements that chose it, against a 1,000-step DDIM
    /// reference on both schedules.
    /// </summary>
    protected override TimestepSpacing DefaultSpacing => TimestepSpacing.Tapered;

    /// <inheritdoc/>
    public override void SetTimesteps(int steps)
    {
        base.SetTimesteps(steps);
        _previousSample?.Dispose();
        _previousSample = null;
        _stepIndex = 0;
    }

    /// <inheritdoc/>
    internal override void StartAt(int timestep)
    {
        SetTimesteps(Timesteps.Count);
        _stepIndex = PositionOf(timestep);
    }

    /// <inheritdoc/>
    public override Tensor Step(Tensor modelOutput, int timestep, Tensor sample, SamplingNoise? noise = null)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        var position = PositionOf(timestep);
        if (position != _stepIndex)
        {
            throw new InvalidOperationException($"DPM-Solver++ is multistep: call Step for the timesteps in order (expected {Timesteps[_stepIndex]}, got {timestep}).");
        }

        var previous = PreviousTimestep(timestep);
        var alphaBar = Schedule.AlphaBar(timestep);
        var lambda = Lambda(alphaBar);
        var x0 = PredictSample(modelOutput, sample, alphaBar).DetachFromDisposeScope();
        try
        {
            using var scope = torch.NewDisposeScope();
            Tensor result;
            if (previous < 0)
            {
                result = x0.clone();  // σ_{t'} = 0: the solution is the data prediction itself
            }
            else
            {
                var alphaBarNext = Schedule.AlphaBar(previous);
                var (alphaNext, sigmaNext) = (Math.Sqrt(alphaBarNext), Math.Sqrt(1 - alphaBarNext));
                var h = Lambda(alphaBarNext) - lambda;
                var data = x0;
                if (_previousSample is not null)
                {
                    var r = (lambda - _previousLambda) / h;
                    data = x0 + ((x0 - _previousSample) * (1 / (2 * r)));
                }

                result = (sample * (sigmaNext / Math.Sqrt(1 - alphaBar))) - (data * (alphaNext * double.ExpM1(-h)));
            }

            result = scope.MoveToOuter(result);
            _previousSample?.Dispose();
            _previousSample = x0;
            _previousLambda = lambda;
            _stepIndex++;
            return result;
        }
        catch
        {
            x0.Dispose();
            throw;
        }
    }

    private static double Lambda(double alphaBar) => 0.5 * (Math.Log(alphaBar) - Math.Log(1 - alphaBar));
}
