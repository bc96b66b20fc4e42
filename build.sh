#!/usr/bin/env bash
# One command for everything. On a Debian machine it installs what is missing (as root, or through sudo).
#   ./build.sh          install what is missing, build the .NET solution
#   ./build.sh test     ... and run every test (the package tests use packages packed into artifacts/packages/ci)
#   ./build.sh pack     ... and pack the library (MLNet.Diffusion), its evaluation package (MLNet.Diffusion.Evaluation) and the
#                       tool (mlnet-diffusion) into artifacts/packages
#   ./build.sh bench    ... and run the benchmark program: side by side against PyTorch (Debian's python3-torch) unless
#                       a flag picks another of its benchmarks (./build.sh bench --help, bench/README.md)
#   ./build.sh demo     ... and train the tiny model on Fashion-MNIST for a few minutes: out/model.zip, out/samples.png, out/report.html
set -euo pipefail
cd "$(dirname "$0")"

command_name="${1:-build}"
configuration="${CONFIGURATION:-Release}"

# Debian packages the project needs. The engine is TorchSharp (NuGet packages TorchSharp and TorchSharp-cpu, which
# bring libtorch 2.10 for CPU); nothing of libtorch comes from apt. patchelf and gcc let build/debian12 fix
# TorchSharp's native library for Debian 12's older libstdc++ after each build (docs/torchsharp-on-debian.md).
# dataset-fashion-mnist puts Fashion-MNIST's IDX files in /usr/share/datasets/fashion-mnist, the real dataset that
# training, the demo and the tests use. Only the tests and the benchmark add Python: python3-torch is PyTorch for
# Debian's own /usr/bin/python3, the benchmark's and agreement tests' reference; python3-pil lets the PNG and JPEG tests
# check our decoding against an independent codec. Images are read and written through SkiaSharp, whose native library
# comes from NuGet (docs/images.md).
packages=(patchelf gcc dataset-fashion-mnist)
case "$command_name" in
  test | bench) packages+=(python3-torch python3-pil) ;;
esac

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    return
  fi
  echo "build.sh: installing ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "build.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
}

build() {
  dotnet build MLNet.Diffusion.sln -c "$configuration" -nologo -v minimal
}

# Packs the library, the evaluation package and the tool into folder $1, at package version $2 when given (else Directory.Build.props'
# <Version>); the assemblies keep Directory.Build.props' version either way, so a package version of its own recompiles
# nothing. The tool's pack publishes it for linux-x64, an output the solution's build does not make (it is a RID-specific
# tool), so that pack builds (incrementally); the library's pack reuses the build just checked (--no-build).
pack() {
  local args=(-c "$configuration" -nologo -v minimal -o "$1")
  if [[ -n ${2:-} ]]; then
    args+=("-p:PackageVersion=$2")
  fi
  dotnet pack src/MLNet.Diffusion.Cli/MLNet.Diffusion.Cli.csproj "${args[@]}"
  dotnet pack src/MLNet.Diffusion/MLNet.Diffusion.csproj --no-build "${args[@]}"
  dotnet pack src/MLNet.Diffusion.Evaluation/MLNet.Diffusion.Evaluation.csproj --no-build "${args[@]}"
}

install_missing
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

case "$command_name" in
  build)
    build
    ;;
  test)
    build
    # test/MLNet.Diffusion.Cli.Tests/PackageTests.cs installs these as an outside app would. A version no NuGet cache has
    # seen, so no stale cached package can stand in for the one just packed.
    base_version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
    export MLNET_DIFFUSION_PACKAGES="$PWD/artifacts/packages/ci"
    export MLNET_DIFFUSION_PACKAGE_VERSION="${base_version}-ci.$(date +%Y%m%d%H%M%S)"
    rm -rf "$MLNET_DIFFUSION_PACKAGES"
    pack "$MLNET_DIFFUSION_PACKAGES" "$MLNET_DIFFUSION_PACKAGE_VERSION"
    dotnet test MLNet.Diffusion.sln -c "$configuration" --no-build -nologo -v minimal \
      --logger "console;verbosity=normal" --results-directory artifacts/TestResults
    ;;
  bench)
    build
    dotnet run --project bench/MLNet.Diffusion.Bench -c "$configuration" --no-build -- "${@:2}"
    ;;
  pack)
    build
    pack artifacts/packages
    ;;
  demo)
    # Only the example and what it references: the demo needs neither the tests nor the benchmark (less time and disk).
    dotnet build examples/FashionMnist/FashionMnist.csproj -c "$configuration" -nologo -v minimal
    # The demo's budget as docs/quality.md's ablation chose it: the tiny preset, 1,400 steps of 32 (about 5 minutes of training
    # on two cores, as long as 200 steps of 64 on the small preset, with half the KID).
    dotnet run --project examples/FashionMnist -c "$configuration" --no-build -- \
      --preset tiny --batch-size 32 --steps "${DEMO_STEPS:-1400}" --output out --model out/model.zip "${@:2}"
    ;;
  *)
    echo "usage: ./build.sh [build|test|pack|bench|demo]" >&2
    exit 2
    ;;
esac
