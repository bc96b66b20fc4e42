using MLNet.Diffusion.Engine;

namespace MLNet.Diffusion.Tests;

/// <summary>Process-wide setup, before any test runs.</summary>
[TestClass]
public static class TestAssembly
{
    /// <summary>
    /// The library's native defaults (MKL_CBWR, GOMP_SPINCOUNT), which its module initializer sets when its code first
    /// runs. oneMKL reads MKL_CBWR at libtorch's first matrix product, and a test that runs TorchSharp code before any
    /// MLNet.Diffusion code could come first: without strict mode an image would depend on its batch.
    /// </summary>
    [AssemblyInitialize]
    public static void ApplyNativeDefaults(TestContext context) => NativeEnvironment.ApplyDefaults();
}
