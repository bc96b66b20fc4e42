using MLNet.Diffusion.Models;
using Onnx;
using TorchSharp;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Onnx;

/// <summary>
/// A whole generator as one ONNX graph: x_T from the seeds (<see cref="SeedNoiseGraph"/>), a <c>Loop</c> of the
/// deterministic sampler's network evaluations around the UNet (<see cref="UNetGraph"/>), and the conversion to 0–255 pixels.
/// Inputs: <c>seed</c> int64 [B, 1] (seeds in [0, 2⁶³)) and, for a class-conditional model, <c>label</c> int64 [B, 1]
/// (class index in [0, classes − 1]; −1 generates unconditionally; any other value fails in ONNX Runtime's Gather). Output: <c>pixels</c> float [B, C, S, S], whole
/// numbers in [0, 255], planar RGB or gray; with rgbForGray also <c>rgb</c> [B, 3, S, S] (gray
/// repeated), which ML.NET's ConvertToImage turns into the same opaque image the live transformer makes.
/// </summary>
/// <remarks>
/// Each step's scalars (timestep embedding, sampler coefficients) are computed here in double from the same
/// <see cref="NoiseSchedule"/> and sampler timesteps as the TorchSharp path, stored as [N]-row tables and picked by
/// the loop counter (one row per network evaluation); the tensor arithmetic mirrors <see cref="DdimSampler"/>,
/// <see cref="DpmSolverMultistepSampler"/> and <see cref="EdmSampler"/> operation for operation, so the two engines differ only by kernel rounding.
/// </remarks>
internal static class GeneratorGraph
{
    /// <summary>
    /// The graph for <paramref name="network"/> and a sampler from <see cref="CreateSampler"/> (its timesteps set); with
    /// <paramref name="editing"/>, the graph of image-to-image or deterministic inpainting (<see cref="ImageEditing"/>'s, step for step),
    /// which also takes <c>image</c> float [B, C, S, S] in the model's values and, for inpainting, <c>mask</c> float
    /// [B, 1 or C, S, S] (above 0.5 keeps a pixel).
    /// </summary>
    public static ModelProto Build(UNet2D network, DiffusionSampler sampler, PixelEncoding encoding, double guidance, bool rgbForGray,
        IEnumerable<KeyValuePair<string, string>> metadata, EditingGraph? editing = null)
    {
        var config = network.Config;
        if (editing is not null && sampler is EdmSampler)
        {
            throw new ArgumentException("Image-to-image and inpainting run DPM-Solver++ or DDIM: Heun and Euler on the Karras grid generate from noise only.", nameof(sampler));
        }

        // Image-to-image runs the grid's last ⌊n × strength⌋ steps, as ImageEditing.ImageToImage does.
        var firstStep = editing is null ? 0 : sampler.Timesteps.Count - (int)Math.Floor(sampler.Timesteps.Count * editing.Strength);
        var timesteps = sampler.Timesteps.Skip(firstStep).ToArray();
        var (channels, size) = (config.InChannels, config.ImageSize);
        var g = new OnnxGraph(editing is null ? "mlnet_diffusion_generator" : editing.MaskChannels is null ? "mlnet_diffusion_edit" : "mlnet_diffusion_inpaint");
        g.Input("seed", TensorProto.Types.DataType.Int64, [null, 1]);
        // No label input (an editing graph for a view without labels): every row unconditional, the null label (row `classes`
        // of the class embedding) for each seed.
        var labels = config.NumClasses is not { } classes ? null
            : editing is { LabelInput: false } ? g.Node("Expand", [g.Int64Scalar(classes), g.Node("Shape", [g.Node("Reshape", ["seed", g.Int64s(-1)])])])
            : LabelInput(g, classes);

        var noise = SeedNoiseGraph.Emit(g, "seed", channels, size);
        string? keep = null;
        if (editing is not null)
        {
            g.Input("image", TensorProto.Types.DataType.Float, [null, channels, size, size]);
            if (editing.MaskChannels is { } maskChannels)
            {
                g.Input("mask", TensorProto.Types.DataType.Float, [null, maskChannels, size, size]);
                keep = g.Node("Greater", ["mask", g.Scalar(0.5f)]);
            }
        }

        // x₀ noised to a timestep with x_T (√ᾱ·x₀ + √(1 − ᾱ)·x_T), as ImageEditing.Noised computes it.
        string Noised(OnnxGraph graph, string a, string b) => graph.Node("Add", [graph.Node("Mul", ["image", a]), graph.Node("Mul", [noise, b])]);
        // A run that starts below the schedule's last timestep starts from x_T scaled as the sampler scales it (EdmSampler).
        var start = sampler.InitialNoiseScale == 1 ? noise : g.Node("Mul", [noise, g.Scalar((float)sampler.InitialNoiseScale)]);
        if (editing is not null && timesteps.Length > 0 && (keep is not null || firstStep > 0))
        {
            var alphaBar = sampler.Schedule.AlphaBar(timesteps[0]);
            var known = Noised(g, g.Scalar((float)Math.Sqrt(alphaBar)), g.Scalar((float)Math.Sqrt(1 - alphaBar)));
            start = keep is null ? known : g.Node("Where", [keep, known, noise]);
        }

        // A zero-strength edit runs no step: the image itself.
        var final = timesteps.Length == 0 ? "image" : SamplingLoop();

        // clamp(x, −1, 1) in model space, then round(x / scale + offset) half to even, clamped to [0, 255]; NaN → 0.
        var clamped = g.Node("Clip", [final, g.Scalar(-1), g.Scalar(1)]);
        var scaled = g.Node("Add", [g.Node("Div", [clamped, g.Scalar(encoding.ScaleImage)]), g.Scalar(encoding.OffsetImage)]);
        var rounded = g.Node("Clip", [g.Node("Round", [scaled]), g.Scalar(0), g.Scalar(255)]);
        var pixels = g.Node("Where", [g.Node("IsNaN", [rounded]), g.Scalar(0), rounded]);
        g.NodeInto("Identity", [pixels], ["pixels"]);
        g.Output("pixels", TensorProto.Types.DataType.Float, [null, channels, size, size]);
        if (rgbForGray && channels == 1)
        {
            g.NodeInto("Concat", ["pixels", "pixels", "pixels"], ["rgb"], ("axis", 1L));
            g.Output("rgb", TensorProto.Types.DataType.Float, [null, 3, size, size]);
        }

        return g.ToModel(metadata);

        string SamplingLoop()
        {
            // The body keeps the weights and tables itself: only then does ONNX Runtime give its convolutions the blocked
            // kernels (bench/README.md has the step times of both forms).
            var body = g.Subgraph("sampler_step", ownInitializers: true);
            UNetGraph.AddWeights(body, network);
            body.Initializer("sampler.time_embedding", TimeEmbeddingTable(timesteps, config.BaseChannels), timesteps.Length, config.BaseChannels);
            body.Proto.Input.Add(OnnxGraph.Value("step", TensorProto.Types.DataType.Int64, []));
            body.Proto.Input.Add(OnnxGraph.Value("cond_in", TensorProto.Types.DataType.Bool, []));
            body.Proto.Input.Add(OnnxGraph.Value("x", TensorProto.Types.DataType.Float, null));
            body.Proto.Input.Add(OnnxGraph.Value("carried_in", TensorProto.Types.DataType.Float, null));
            var embedding = body.Node("Unsqueeze", [body.Node("Gather", ["sampler.time_embedding", "step"]), body.Int64s(0)]);
            var output = ModelOutput(body, config, "x", embedding, labels, guidance);
            var (carried, next) = SamplerStep(body, sampler, timesteps, "x", output, "carried_in");
            if (keep is not null)
            {
                // The kept pixels after each step: the image noised to the timestep reached with x_T (x₀ itself after the last).
                double Reached(int i) => sampler.Schedule.AlphaBar(i + 1 < timesteps.Length ? timesteps[i + 1] : -1);
                string Table(string name, Func<int, double> value) =>
                    body.Node("Gather", [body.Initializer($"inpaint.{name}", [.. Enumerable.Range(0, timesteps.Length).Select(i => (float)value(i))], timesteps.Length), "step"]);
                next = body.Node("Where", [keep, Noised(body, Table("known_a", i => Math.Sqrt(Reached(i))), Table("known_b", i => Math.Sqrt(1 - Reached(i)))), next]);
            }

            body.NodeInto("Identity", ["cond_in"], ["cond_out"]);
            body.NodeInto("Identity", [next], ["x_next"]);
            body.NodeInto("Identity", [carried], ["carried_out"]);
            body.Proto.Output.Add(OnnxGraph.Value("cond_out", TensorProto.Types.DataType.Bool, []));
            body.Proto.Output.Add(OnnxGraph.Value("x_next", TensorProto.Types.DataType.Float, null));
            body.Proto.Output.Add(OnnxGraph.Value("carried_out", TensorProto.Types.DataType.Float, null));

            var zeros = g.Node("Mul", [noise, g.Scalar(0)]);
            return g.Node("Loop", [g.Int64Scalar(timesteps.Length), "", start, zeros], 2, ("body", body.Proto))[0];
        }
    }

    // The label input [B, 1] as class indices [B]: −1 is the null label (row `classes` of the class embedding). Any other label
    // outside 0 to classes − 1 becomes classes + 1, which the embedding's Gather refuses: left alone, Gather would take −2 as the
    // last real class and `classes` as the null label, an image where the live model refuses the row.
    private static string LabelInput(OnnxGraph g, int classes)
    {
        g.Input("label", TensorProto.Types.DataType.Int64, [null, 1]);
        var flat = g.Node("Reshape", ["label", g.Int64s(-1)]);
        var invalid = g.Node("Or", [g.Node("Less", [flat, g.Int64Scalar(-1)]), g.Node("Greater", [flat, g.Int64Scalar(classes - 1)])]);
        var mapped = g.Node("Where", [g.Node("Equal", [flat, g.Int64Scalar(-1)]), g.Int64Scalar(classes), flat]);
        return g.Node("Where", [invalid, g.Int64Scalar(classes + 1), mapped]);
    }

    /// <summary>The sampler the graph unrolls, with its timesteps set (it validates the step count).</summary>
    /// <param name="schedule">The model's noise schedule.</param>
    /// <param name="predictionType">What the network predicts.</param>
    /// <param name="name">A <see cref="Samplers"/> name.</param>
    /// <param name="steps">The sampling steps.</param>
    public static DiffusionSampler CreateSampler(NoiseSchedule schedule, PredictionType predictionType, string name, int steps)
    {
        if (!Samplers.IsDeterministic(name))
        {
            throw new ArgumentException(
                $"An ONNX generator runs a deterministic sampler: DPM-Solver++, DDIM (η = 0), Heun or Euler; {name} draws fresh noise every step.", nameof(name));
        }

        var sampler = Samplers.Create(name, schedule, new SamplerOptions { PredictionType = predictionType });
        sampler.SetTimesteps(steps);
        return sampler;
    }

    private static float[] TimeEmbeddingTable(int[] timesteps, int dimension)
    {
        using var scope = torch.NewDisposeScope();
        var table = UNet2D.TimestepEmbedding(torch.tensor(timesteps.Select(t => (long)t).ToArray()), dimension, torch.CPU);
        return table.contiguous().data<float>().ToArray();
    }

    // The UNet's output, with classifier-free guidance (Ho and Salimans 2022) as UNetDenoiser computes it.
    private static string ModelOutput(OnnxGraph body, UNetConfig config, string x, string embedding, string? labels, double guidance)
    {
        if (labels is null || guidance == 1)
        {
            return UNetGraph.Emit(body, config, x, embedding, labels);
        }

        var nulls = body.Node("Expand", [body.Int64Scalar(config.NumClasses!.Value), body.Node("Shape", [labels])]);
        var both = UNetGraph.Emit(body, config, body.Node("Concat", [x, x], ("axis", 0L)), embedding,
            body.Node("Concat", [labels, nulls], ("axis", 0L)));
        var halves = body.Node("Split", [both], 2, ("axis", 0L), ("num_outputs", 2L));
        var (conditional, unconditional) = (halves[0], halves[1]);
        // As ClassifierFreeGuidance.Combine: torch.lerp's start + w·(end − start) for w < 0.5, else end − (end − start)·(1 − w).
        var difference = body.Node("Sub", [conditional, unconditional]);
        return guidance < 0.5
            ? body.Node("Add", [unconditional, body.Node("Mul", [difference, body.Scalar((float)guidance)])])
            : body.Node("Sub", [conditional, body.Node("Mul", [difference, body.Scalar((float)(1 - guidance))])]);
    }

    // One step of the sampler: returns (what the next step reads as `previous`, x_next): DPM-Solver++'s x̂₀, or Heun's
    // x̃ + h·d/2. Coefficient tables have one entry per network evaluation.
    private static (string Carried, string Next) SamplerStep(OnnxGraph body, DiffusionSampler sampler, int[] timesteps, string x, string m, string previous)
    {
        var schedule = sampler.Schedule;
        var type = sampler.Options.PredictionType;
        var n = timesteps.Length;
        // A named [N] table (sampler.x0_q, sampler.dpm_a, … in a graph viewer), read at the loop counter.
        string Table(string name, Func<int, double> value) =>
            body.Node("Gather", [body.Initializer($"sampler.{name}", [.. Enumerable.Range(0, n).Select(i => (float)value(i))], n), "step"]);
        double A(int i) => schedule.AlphaBar(timesteps[i]);
        double Previous(int i) => schedule.AlphaBar(i + 1 < n ? timesteps[i + 1] : -1);

        // x̂₀ = (x·P − m·Q)/R: ε → (x − √(1−ᾱ)·m)/√ᾱ; sample → m; v → √ᾱ·x − √(1−ᾱ)·m (Parameterization.ToSample).
        var (p, q, r) = type switch
        {
            PredictionType.Epsilon => (Table("x0_p", _ => 1), Table("x0_q", i => Math.Sqrt(1 - A(i))), Table("x0_r", i => Math.Sqrt(A(i)))),
            PredictionType.Sample => (Table("x0_p", _ => 0), Table("x0_q", _ => -1), Table("x0_r", _ => 1)),
            _ => (Table("x0_p", i => Math.Sqrt(A(i))), Table("x0_q", i => Math.Sqrt(1 - A(i))), Table("x0_r", _ => 1)),
        };
        var x0 = body.Node("Div", [body.Node("Sub", [body.Node("Mul", [x, p]), body.Node("Mul", [m, q])]), r]);
        if (sampler.Options.DynamicThresholding)
        {
            throw new ArgumentException("Dynamic thresholding is not part of an ONNX generator.", nameof(sampler));
        }

        if (sampler.Options.ClipSample)
        {
            var range = (float)sampler.Options.ClipRange;
            x0 = body.Node("Clip", [x0, body.Scalar(-range), body.Scalar(range)]);
        }

        if (sampler is DdimSampler)
        {
            // ε̂ = (x·P − y·Q)/R: from the clipped x̂₀ when clipping, else from the model output (DdimSampler.Step).
            string y;
            (string P, string Q, string R) e;
            if (sampler.Options.ClipSample)
            {
                y = x0;
                e = (Table("eps_p", _ => 1), Table("eps_q", i => Math.Sqrt(A(i))), Table("eps_r", i => Math.Sqrt(1 - A(i))));
            }
            else
            {
                y = m;
                e = type switch
                {
                    PredictionType.Epsilon => (Table("eps_p", _ => 0), Table("eps_q", _ => -1), Table("eps_r", _ => 1)),
                    PredictionType.Sample => (Table("eps_p", _ => 1), Table("eps_q", i => Math.Sqrt(A(i))), Table("eps_r", i => Math.Sqrt(1 - A(i)))),
                    _ => (Table("eps_p", i => Math.Sqrt(1 - A(i))), Table("eps_q", i => -Math.Sqrt(A(i))), Table("eps_r", _ => 1)),
                };
            }

            var epsilon = body.Node("Div", [body.Node("Sub", [body.Node("Mul", [x, e.P]), body.Node("Mul", [y, e.Q])]), e.R]);
            var next = body.Node("Add", [
                body.Node("Mul", [x0, Table("ddim_x0", i => Math.Sqrt(Previous(i)))]),
                body.Node("Mul", [epsilon, Table("ddim_eps", i => Math.Sqrt(Math.Max(1 - Previous(i), 0)))])]);
            return (x0, next);
        }

        if (sampler is EdmSampler edm)
        {
            // EDM's Euler or Heun (EdmSampler.Step): x' = A·x + B·x̂₀ + C·s, and s = D·x + E·x̂₀ after the Euler half of a Heun step.
            string Coefficient(string name, Func<(double A, double B, double C, double D, double E), double> pick) =>
                Table($"edm_{name}", i => pick(edm.Coefficients(i)));
            var next = body.Node("Add", [
                body.Node("Add", [body.Node("Mul", [x, Coefficient("a", c => c.A)]), body.Node("Mul", [x0, Coefficient("b", c => c.B)])]),
                body.Node("Mul", [previous, Coefficient("c", c => c.C)])]);
            var half = body.Node("Add", [body.Node("Mul", [x, Coefficient("d", c => c.D)]), body.Node("Mul", [x0, Coefficient("e", c => c.E)])]);
            return (half, next);
        }

        // DPM-Solver++(2M) (Lu et al. 2022): D = x̂₀ + (x̂₀ − x̂₀_prev)/(2r) from the second step on (k = 0 before),
        // x_next = (σ_next/σ_t)·x − α_next·expm1(−h)·D; the last step returns x̂₀ (A = 0, B = −1, k = 0).
        double Lambda(double alphaBar) => 0.5 * (Math.Log(alphaBar) - Math.Log(1 - alphaBar));
        double H(int i) => Lambda(Previous(i)) - Lambda(A(i));
        bool Last(int i) => i + 1 == n;
        var k = Table("dpm_k", i => i == 0 || Last(i) ? 0 : 1 / (2 * ((Lambda(A(i)) - Lambda(A(i - 1))) / H(i))));
        var a = Table("dpm_a", i => Last(i) ? 0 : Math.Sqrt(1 - Previous(i)) / Math.Sqrt(1 - A(i)));
        var b = Table("dpm_b", i => Last(i) ? -1 : Math.Sqrt(Previous(i)) * double.ExpM1(-H(i)));
        var data = body.Node("Add", [x0, body.Node("Mul", [body.Node("Sub", [x0, previous]), k])]);
        return (x0, body.Node("Sub", [body.Node("Mul", [x, a]), body.Node("Mul", [data, b])]));
    }
}

/// <summary>What an editing graph adds to a generator's: the share of the grid that runs (image-to-image) and the mask's channels (inpainting).</summary>
/// <param name="Strength">Image-to-image's strength, 0 to 1 (the last ⌊n × strength⌋ of the grid's n steps run); 1 for inpainting.</param>
/// <param name="MaskChannels">1 or C for inpainting; null for image-to-image.</param>
/// <param name="LabelInput">False: a class-conditional model's graph takes no <c>label</c> and edits unconditionally (a view without labels).</param>
internal sealed record EditingGraph(double Strength, int? MaskChannels, bool LabelInput = true);
