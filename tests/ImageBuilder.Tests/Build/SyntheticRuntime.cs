// A test fixture runtime release: stand-in programs packed by the kit's own packer (kits/runtime/make_runtime_image.py).
using System.Text;
using Appliance.ImageBuilder.Tests.Boot;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Build;

/// <summary>
/// <c>appliance/runtime:VERSION</c> made of small stand-in files (<c>appliance-runtime</c>, <c>appliance-firstboot</c>,
/// <c>libe_sqlite3.so</c>, each saying it is a test fixture), so the unit-level build tests need no NativeAOT publish. It
/// is packed by the same script as the real release, so the layout the build reads is the one kits/runtime/publish.sh
/// writes. The real release is what the boot tests use (<see cref="BootTestSupport.RequireRuntimeRelease"/>).
/// </summary>
public static class SyntheticRuntime
{
    /// <summary>The release version: the profile's <c>runtime.version</c>, the tag of <see cref="Reference"/>.</summary>
    public const string Version = "0.0.0-synthetic";

    /// <summary>What the stand-in programs "print" for --version: the config's version label.</summary>
    public const string FullVersion = Version + "+fixture";

    /// <summary>The store name.</summary>
    public const string Reference = "appliance/runtime:" + Version;

    /// <summary>The files of each platform's layer, at /usr/lib/appliance/.</summary>
    public static readonly string[] Files = ["appliance-firstboot", "appliance-runtime", "libe_sqlite3.so"];

    /// <summary>The bytes of one stand-in file for <paramref name="arch"/> (they differ per architecture, as real builds do).</summary>
    public static byte[] Content(string file, string arch) =>
        Encoding.UTF8.GetBytes($"#!/bin/sh\n# test fixture: stand-in for {file} {FullVersion} ({arch}), never run\nexit 1\n");

    /// <summary>Packs the release for <paramref name="arches"/> (amd64, arm64, armv7) and adds it to <paramref name="storeDir"/>.</summary>
    public static void AddTo(string storeDir, string workDir, params string[] arches)
    {
        var specs = new List<string>();
        foreach (var arch in arches)
        {
            var dir = Path.Combine(workDir, "runtime-" + arch);
            Directory.CreateDirectory(dir);
            foreach (var f in Files)
            {
                File.WriteAllBytes(Path.Combine(dir, f), Content(f, arch));
                if (!f.EndsWith(".so", StringComparison.Ordinal) && !OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(dir, f), (UnixFileMode)0b111_101_101);
            }
            specs.Add($"{arch}={dir}");
        }
        var archive = Path.Combine(workDir, "runtime.oci.tar");
        var script = Path.Combine(BootTestSupport.RepoRoot, "kits", "runtime", "make_runtime_image.py");
        var packed = ProcessRunner.Run("python3", [script, archive, Reference, FullVersion, .. specs]);
        Assert.True(packed.ExitCode == 0, packed.Error);
        var added = CliRunner.Run("store", "add", "--store", storeDir, archive);
        Assert.True(added.ExitCode == 0, added.Error);
    }
}
