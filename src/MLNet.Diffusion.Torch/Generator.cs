using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>
/// A random number generator of libtorch (Philox on CUDA, Mersenne Twister on the CPU). Pass one to the random
/// factories to make a stream of samples independent of everything else the process draws.
/// </summary>
public sealed class Generator : IDisposable
{
    private readonly GeneratorHandle _handle;

    /// <summary>A new generator for <paramref name="device"/> (CPU by default) seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        d.EnsureAvailable();
        _handle = Check(Native.mlnd_generator_new((sbyte)d.Type, d.IsCpu ? -1 : d.Index, seed));
        Device = d;
    }

    private Generator(GeneratorHandle handle, Device device)
    {
        _handle = handle;
        Device = device;
    }

    /// <summary>The device whose random streams this generator drives.</summary>
    public Device Device { get; }

    /// <summary>The device's default generator, shared with libtorch and seeded by <see cref="LibTorch.ManualSeed"/>.</summary>
    public static Generator Default(Device? device = null)
    {
        var d = device ?? Device.Cpu;
        d.EnsureAvailable();
        return new Generator(Check(Native.mlnd_generator_default((sbyte)d.Type, d.IsCpu ? -1 : d.Index)), d);
    }

    internal GeneratorHandle LiveHandle => _handle.IsClosed ? throw new ObjectDisposedException(nameof(Generator)) : _handle;

    /// <summary>The seed last set. Setting it restarts the stream.</summary>
    public ulong Seed
    {
        get
        {
            LibTorch.Check(Native.mlnd_generator_get_seed(LiveHandle, out var seed));
            return seed;
        }

        set => LibTorch.Check(Native.mlnd_generator_set_seed(LiveHandle, value));
    }

    /// <summary>The full internal state as a uint8 tensor (for checkpoints).</summary>
    public Tensor GetState() => LibTorch.Wrap(Native.mlnd_generator_get_state(LiveHandle));

    /// <summary>Restores a state taken with <see cref="GetState"/>.</summary>
    public void SetState(Tensor state) => LibTorch.Check(Native.mlnd_generator_set_state(LiveHandle, Tensor.Arg(state)));

    /// <summary>Releases the native generator (a default generator stays alive inside libtorch).</summary>
    public void Dispose() => _handle.Dispose();

    private static GeneratorHandle Check(GeneratorHandle handle)
    {
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw LibTorch.LastError();
        }

        return handle;
    }
}
