using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>The diffusion trainers of a <see cref="DiffusionContext"/> (<c>context.Diffusion()</c>).</summary>
public sealed class DiffusionCatalog
{
    private readonly DiffusionContext _context;

    internal DiffusionCatalog(DiffusionContext context) => _context = context;

    /// <summary>A DDPM trainer with the most used settings; every other setting keeps its <see cref="DdpmTrainerOptions"/> default.</summary>
    /// <param name="pixelColumnName">The column of training images (float vectors [C, H, W] in [−1, 1]).</param>
    /// <param name="labelColumnName">The key column of class labels, for a class-conditional model; null for an unconditional one.</param>
    /// <param name="modelPreset">tiny, small or ddpm-cifar10, sized to the images.</param>
    /// <param name="maxSteps">Optimiser steps.</param>
    /// <param name="batchSize">Images per step.</param>
    /// <param name="learningRate">Peak learning rate.</param>
    /// <param name="seed">The run's seed; null takes the context's (else 0).</param>
    public DiffusionTrainer Train(string pixelColumnName = "Pixels", string? labelColumnName = null, string modelPreset = "small",
        long maxSteps = 10_000, int batchSize = 64, double learningRate = 2e-4, ulong? seed = null) =>
        Train(new DiffusionTrainerOptions
        {
            PixelColumnName = pixelColumnName, LabelColumnName = labelColumnName, ModelPreset = modelPreset, MaxSteps = maxSteps,
            BatchSize = batchSize, LearningRate = learningRate, Seed = seed ?? _context.Seed ?? 0,
        });

    /// <summary>
    /// A DDPM trainer with all of <paramref name="options"/>. A <see cref="DdpmTrainerOptions.Seed"/> of 0 (the default) takes the
    /// context's seed when it has one, and a <see cref="DdpmTrainerOptions.Device"/> of auto takes the context's device.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public DiffusionTrainer Train(DiffusionTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.PixelColumnName, nameof(options));
        var resolved = options with
        {
            Seed = options.Seed == 0 && _context.Seed is { } seed ? seed : options.Seed,
            Device = options.Device == "auto" ? _context.Device : options.Device,
        };
        return new DiffusionTrainer(_context, resolved);
    }
}
