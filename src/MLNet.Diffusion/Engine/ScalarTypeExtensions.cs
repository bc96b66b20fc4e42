using TorchSharp;

namespace MLNet.Diffusion.Engine;

/// <summary>Names and sizes of TorchSharp's element types, as this project writes them in messages and files.</summary>
internal static class ScalarTypeExtensions
{
    /// <summary>Whether <paramref name="type"/> holds floating-point numbers.</summary>
    public static bool IsFloatingPoint(this torch.ScalarType type) =>
        type is torch.ScalarType.Float64 or torch.ScalarType.Float32 or torch.ScalarType.Float16 or torch.ScalarType.BFloat16;

    /// <summary>PyTorch's lower-case name of <paramref name="type"/> ("float32", "uint8", "int64", ...).</summary>
    public static string Name(this torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float64 => "float64",
        torch.ScalarType.Float32 => "float32",
        torch.ScalarType.Float16 => "float16",
        torch.ScalarType.BFloat16 => "bfloat16",
        torch.ScalarType.Int64 => "int64",
        torch.ScalarType.Int32 => "int32",
        torch.ScalarType.Int16 => "int16",
        torch.ScalarType.Int8 => "int8",
        torch.ScalarType.Byte => "uint8",
        torch.ScalarType.Bool => "bool",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <summary>The element type that holds <typeparamref name="T"/> (byte, sbyte, short, int, long, float, double, bool).</summary>
    /// <exception cref="NotSupportedException">For any other type.</exception>
    public static torch.ScalarType Of<T>() where T : unmanaged => default(T) switch
    {
        byte => torch.ScalarType.Byte,
        sbyte => torch.ScalarType.Int8,
        short => torch.ScalarType.Int16,
        int => torch.ScalarType.Int32,
        long => torch.ScalarType.Int64,
        float => torch.ScalarType.Float32,
        double => torch.ScalarType.Float64,
        bool => torch.ScalarType.Bool,
        _ => throw new NotSupportedException($"No element type holds {typeof(T).Name}."),
    };
}
