using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using MLNet.Diffusion.Training;


namespace MLNet.Diffusion.Cli;

/// <summary>
/// The commands of <c>mlnet-diffusion</c>: <c>train</c>, <c>generate</c>, <c>info</c>, <c>export</c> and <c>eval</c>. Exit code 0 on success,
/// 1 on failure (one line <c>error: ...</c> on standard error; the stack trace with <c>--verbose</c>), 2 on a
/// usage error.
/// </summary>
public static class CliApp
{
    /// <summary>Parses and runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var verbose = new Option<bool>("--verbose") { Description = "Print the stack trace of a failure.", Recursive = true };
        var root = new RootCommand("Train denoising diffusion models and generate images with them.") { verbose };
        root.Add(Commands.TrainCommand.Create(output, interactive));
        root.Add(Commands.GenerateCommand.Create(output));
        root.Add(Commands.EditCommand.CreateEdit(output));
        root.Add(Commands.EditCommand.CreateInpaint(output));
        root.Add(Commands.InfoCommand.Create(output));
        root.Add(Commands.ExportCommand.Create(output));
        root.Add(Commands.EvalCommand.Create(output));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // An unrecognised token says more than the "required command" error it causes.
            var first = parsed.Errors.OrderBy(e => e.Message.Contains("Unrecognized", StringComparison.OrdinalIgnoreCase) ? 0 : 1).First();
            error.WriteLine($"error: {Plain(first.Message)}");
            error.WriteLine("Run 'mlnet-diffusion --help' for usage.");
            return 2;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or IOException or InvalidOperationException
            or ExternalException or TrainingDivergedException or DllNotFoundException or UnauthorizedAccessException or OnnxRuntimeException)
        {
            // An ArgumentException's message ends with " (Parameter 'name')", the library's C# parameter: not the user's option.
            var message = ex is ArgumentException { ParamName: { } name } ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
            error.WriteLine($"error: {message}");
            if (parsed.GetValue(verbose))
            {
                error.WriteLine(ex.ToString());
            }

            return 1;
        }
    }

    // System.CommandLine names the .NET type a value failed to parse as ("System.Nullable`1[System.Int32]"): say what is accepted instead.
    internal static string Plain(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']*)' as expected type '(?<type>[^']*)'");
        if (!match.Success)
        {
            return message;
        }

        var type = match.Groups["type"].Value;
        var expected = type.Contains("UInt", StringComparison.Ordinal) ? "a whole number ≥ 0"
            : type.Contains("Int", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number (with a '.' for decimals)"
            : null;
        return expected is null ? message : $"{match.Groups["option"].Value}: '{match.Groups["value"].Value}' is not {expected}.";
    }
}
