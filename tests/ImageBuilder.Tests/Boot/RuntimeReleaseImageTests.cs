// The real published runtime release in built images: the programs in root-a run and are those the release holds.
using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>Built from the release kits/runtime/publish.sh made (<see cref="BootTestSupport.RequireRuntimeRelease"/>).</summary>
[Collection("appliance-boot")]
public sealed class RuntimeReleaseImageTests
{
    private static JsonNode Root(BuiltImage img) => JsonNode.Parse(File.ReadAllText(img.ManifestPath))!["root"]!;

    /// <summary>ELF e_machine of a file: 62 x86-64, 183 AArch64 (System V ABI, ELF header).</summary>
    private static int Machine(string path)
    {
        var head = new byte[20];
        using (var f = File.OpenRead(path)) f.ReadExactly(head);
        Assert.True(head.AsSpan(0, 4).SequenceEqual("\u007fELF"u8), $"{path} is not an ELF file");
        return BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(18));
    }

    /// <summary>
    /// x86_64: root-a's appliance-runtime and appliance-firstboot are linux-x64 NativeAOT programs that run here and print
    /// the version build.json records; they are byte for byte the published programs the black-box tests run.
    /// </summary>
    [Fact]
    [Trait("Category", "External")]
    public void X86_64_RootA_CarriesTheReleaseThatRuns()
    {
        var img = BootTestSupport.Image("x86_64-uefi");
        var version = (string)Root(img)["runtime"]!;
        Assert.StartsWith(BootTestSupport.RequireRuntimeRelease() + "+", version);
        var lib = Path.Combine(BootTestSupport.RootAFiles(img, "usr/lib/appliance"), "usr/lib/appliance");
        foreach (var program in new[] { "appliance-runtime", "appliance-firstboot" })
        {
            var path = Path.Combine(lib, program);
            Assert.Equal(62, Machine(path));
            var r = ProcessRunner.Run(path, ["--version"]);
            Assert.True(r.ExitCode == 0, $"{program} --version: exit {r.ExitCode}: {r.Error}");
            Assert.Equal(version, r.Out.Trim());
        }
        Assert.True(File.Exists(Path.Combine(lib, "libe_sqlite3.so")), "libe_sqlite3.so is not beside appliance-runtime");
        // In a whole tests/run.sh, the program the black-box tests start (APPLIANCE_RUNTIME) is the one the image carries.
        if (Environment.GetEnvironmentVariable("APPLIANCE_RUNTIME") is { Length: > 0 } blackBox && File.Exists(blackBox))
            Assert.Equal(DiskTools.Sha256(blackBox), DiskTools.Sha256(Path.Combine(lib, "appliance-runtime")));
    }

    /// <summary>arm64: the board's platform is taken from the index: root-a holds AArch64 programs, the arm64 manifest's.</summary>
    [Fact]
    [Trait("Category", "Boot")]
    public void Arm64_RootA_CarriesTheArm64Release()
    {
        var img = BootTestSupport.Image("arm64-uefi");
        var release = Root(img)["runtimeImage"]!;
        var store = Appliance.ImageBuilder.Store.ContentStore.Open(BootTestSupport.StoreDir);
        Assert.Equal(store.Resolve((string)release["reference"]!, Appliance.ImageBuilder.Oci.Platform.Parse("linux/arm64")).Manifest.Digest, (string?)release["digest"]);
        var lib = Path.Combine(BootTestSupport.RootAFiles(img, "usr/lib/appliance"), "usr/lib/appliance");
        Assert.Equal(183, Machine(Path.Combine(lib, "appliance-runtime")));
        Assert.Equal(183, Machine(Path.Combine(lib, "appliance-firstboot")));
        Assert.Equal(183, Machine(Path.Combine(lib, "libe_sqlite3.so")));
    }

    /// <summary>armv7 with runtime.version and the release published here (no linux/arm/v7): exit 2, one line saying what to add.</summary>
    [Fact]
    [Trait("Category", "External")]
    public void Armv7_WithoutItsRelease_IsRefusedWithWhatToAdd()
    {
        var version = BootTestSupport.RequireRuntimeRelease();
        BootTestSupport.RequireOsImage("armhf");
        var profile = BootTestSupport.WriteProfile("armv7-refused", "armv7-virt");
        File.WriteAllText(profile, File.ReadAllText(profile).Replace("absent: true", "version: " + version, StringComparison.Ordinal));
        var outDir = Path.Combine(BootTestSupport.WorkDir, "out", "armv7-refused");
        var r = CliRunner.Run("build", profile, "-o", outDir, "--store", BootTestSupport.StoreDir);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Error.Split('\n'), l => l.Contains("has no linux/arm/v7", StringComparison.Ordinal));
        Assert.Contains($"the content store's appliance/runtime:{version} has no linux/arm/v7, which target.board armv7-virt runs", line);
        Assert.Contains("kits/runtime/publish.sh amd64 arm64 armv7", line);
        Assert.False(File.Exists(Path.Combine(outDir, "armv7-refused.img")));
    }
}
