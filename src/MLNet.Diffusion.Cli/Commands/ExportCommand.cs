using System.CommandLine;
using System.Globalization;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary><c>mlnet-diffusion export</c>: writes the generator as an ONNX graph.</summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip, or a training checkpoint (its moving-average weights).", Required = true };
        var outPath = new Option<string>("--out") { Description = "The .onnx file to write (its folder is created when missing; an existing file is replaced).", Required = true };
        var sampler = SamplerOption("dpm-solver++, ddim (η 0), heun or euler: the graph is deterministic.");
        var steps = StepsOption("Sampling steps fixed in the graph (default: 20 for dpm-solver++ and euler, 50 for ddim, 10 for heun).");
        var eta = new Option<double>("--eta") { Description = "0 only: a graph is deterministic.", DefaultValueFactory = _ => 0 };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale fixed in the graph (class-conditional models; 1: none).", DefaultValueFactory = _ => 1 };
        var task = new Option<string>("--task")
        {
            Description = "generate (seeds in), edit (image-to-image: seeds and images in) or inpaint (deterministic: seeds, images and masks in).",
            DefaultValueFactory = _ => "generate",
        };
        task.AcceptOnlyFromAmong("generate", "edit", "inpaint");
        var strength = new Option<double>("--strength") { Description = "--task edit: the share of the sampler's steps that run, 0 to 1, fixed in the graph.", DefaultValueFactory = _ => 0.6 };

        // What a graph cannot do is a usage error: a graph draws no noise after x_T.
        // (The tokens, not the values: a value that does not parse has its own error already.)
        sampler.Validators.Add(result =>
        {
            if (result.Tokens is [.., { Value: var name }] && SamplerKindExtensions.Names.Contains(name) && !ParseSampler(name).IsDeterministic())
            {
                result.AddError("--sampler ddpm draws fresh noise at every step, which a deterministic graph cannot: export takes --sampler dpm-solver++, ddim, heun or euler");
            }
        });
        eta.Validators.Add(result =>
        {
            if (result.Tokens is [.., var token] && double.TryParse(token.Value, NumberStyles.Float, Invariant, out var value) && value != 0)
            {
                result.AddError($"--eta {token.Value}: a graph is deterministic, so export takes DDIM's η = 0 only");
            }
        });
        var command = new Command("export", "Write a model's generator, or its image-to-image or inpainting, as an ONNX graph: seeds (and labels, images, masks) in, 0–255 pixels out.")
        {
            modelPath, outPath, sampler, steps, eta, guidance, task, strength,
        };
        command.SetAction(p =>
        {
            CheckSteps(p, steps);
            CheckGuidance(p, guidance);
            Check(p.GetRequiredValue(task) == "edit" || !p.Given(strength), "--strength applies only with --task edit");
            Check(p.GetValue(strength) is >= 0 and <= 1, $"--strength must be 0 to 1, not {p.GetValue(strength).ToString(Invariant)}");
            Check(p.GetRequiredValue(task) == "generate" || ParseSampler(p.GetRequiredValue(sampler)).CanEdit(),
                $"export --task {p.GetRequiredValue(task)} runs --sampler dpm-solver++ or ddim, not {p.GetRequiredValue(sampler)}: heun and euler generate from noise only");
            var path = p.GetRequiredValue(modelPath);
            var target = p.GetRequiredValue(outPath);
            using var model = LoadModel(path, "cpu", output);
            CheckGuidanceApplies(p, guidance, model, path, "it steers toward the label given to the graph");
            var kind = ParseSampler(p.GetRequiredValue(sampler));
            var options = new GenerationOptions { Sampler = kind, Steps = p.GetValue(steps) ?? model.DefaultSteps(kind), Guidance = p.GetValue(guidance) };
            var what = p.GetRequiredValue(task);
            PrepareOutput("--out", target, folder: false);
            if (what == "generate")
            {
                model.ExportOnnx(target, options);
            }
            else
            {
                model.ExportOnnx(target, new ImageEditingOptions { MaskColumnName = what == "inpaint" ? "Mask" : null, Strength = p.GetValue(strength), Sampling = options });
            }

            var (c, s) = (model.Config.InChannels, model.Config.ImageSize);
            var inputs = new List<string> { "seed int64 [B, 1]" };
            if (model.Config.NumClasses is { } classes)
            {
                inputs.Add(string.Create(Invariant, $"label int64 [B, 1] (0 to {classes - 1}, −1 none)"));
            }

            if (what != "generate")
            {
                inputs.Add(string.Create(Invariant, $"image float [B, {c}, {s}, {s}] in the model's pixel encoding ({model.Preprocessing.Range.Min} to {model.Preprocessing.Range.Max})"));
            }

            if (what == "inpaint")
            {
                inputs.Add(string.Create(Invariant, $"mask float [B, 1, {s}, {s}] (above 0.5 keeps)"));
            }

            var method = what switch
            {
                "edit" => string.Create(Invariant, $"image-to-image at strength {p.GetValue(strength)} (the last {(int)Math.Floor(options.Steps!.Value * p.GetValue(strength))} of {options.Steps} steps)"),
                "inpaint" => "deterministic inpainting",
                _ => "generation",
            };
            output.WriteLine(string.Create(Invariant,
                $"wrote {target}, {new FileInfo(target).Length:N0} bytes: {method}, {SamplerName(kind)}, {options.Steps} steps, guidance {options.Guidance}; inputs {string.Join(", ", inputs)}; output pixels float [B, {c}, {s}, {s}], 0–255"));
            return 0;
        });
        return command;
    }
}
