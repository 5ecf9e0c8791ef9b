// The runtime release in the build: resolved per platform, its files in root-a, named by digest in the SBOM and provenance.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.IO;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Signing.Keys;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Build;

/// <summary>Builds from <see cref="SyntheticOs"/> with the fixture release <see cref="SyntheticRuntime"/>.</summary>
[Trait("Category", "RoundTrip")]
public sealed class RuntimeReleaseTests
{
    /// <summary>The release's files as root-a holds them, taken out of the image by unsquashfs.</summary>
    private static string RootAFiles(BuildResult r, string dir, params string[] paths)
    {
        if (DiskTools.Find("unsquashfs") is null) Assert.Skip("unsquashfs is not installed");
        var rootA = r.Manifest.Partitions.Single(p => p.Name == "root-a");
        DiskTools.Run("unsquashfs", ["-no-progress", "-o", rootA.Offset.ToString(CultureInfo.InvariantCulture), "-d", dir, r.ImagePath, .. paths]);
        return dir;
    }

    /// <summary>Root-a holds the board platform's files of the release at /usr/lib/appliance/, byte for byte, with their modes; no placeholder.</summary>
    [Fact]
    [Trait("Category", "External")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void ReleaseFiles_LandInRootA()
    {
        using var os = new SyntheticOs(runtimeArches: ["amd64", "arm64"]);
        var r = os.Build(os.Profile("files"), Path.Combine(os.Dir, "out"));
        var root = RootAFiles(r, Path.Combine(os.Dir, "x"), "usr/lib/appliance");
        var lib = Path.Combine(root, "usr/lib/appliance");
        Assert.Equal(["appliance-firstboot", "appliance-runtime", "libe_sqlite3.so", "rc.boot", "rc.shutdown"],
            Directory.GetFiles(lib).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var f in SyntheticRuntime.Files)
            Assert.Equal(SyntheticRuntime.Content(f, "amd64"), File.ReadAllBytes(Path.Combine(lib, f)));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(lib, "appliance-runtime")));
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(Path.Combine(lib, "libe_sqlite3.so")));
        Assert.Equal(SyntheticRuntime.FullVersion, r.Manifest.Root.Runtime);
        Assert.Equal(SyntheticRuntime.Reference, r.Manifest.Root.RuntimeImage!.Reference);
        var store = ContentStore.Open(os.StoreDir);
        Assert.Equal(store.Resolve(SyntheticRuntime.Reference, Platform.Parse("linux/amd64")).Manifest.Digest, r.Manifest.Root.RuntimeImage.Digest);
    }

    /// <summary>The SBOM and the signed provenance name each file of the release by the SHA-256 of the bytes in root-a.</summary>
    [Fact]
    [Trait("Category", "External")]
    public void SbomAndProvenance_NameTheFilesInRootA_ByDigest()
    {
        using var os = new SyntheticOs();
        using var key = SigningKey.Generate();
        var r = os.Build(os.Profile("digests"), Path.Combine(os.Dir, "out"), key: key);
        var lib = Path.Combine(RootAFiles(r, Path.Combine(os.Dir, "x"), "usr/lib/appliance"), "usr/lib/appliance");
        var inRootA = SyntheticRuntime.Files.ToDictionary(f => f, f => DiskTools.Sha256(Path.Combine(lib, f)).ToLowerInvariant());

        var bom = JsonNode.Parse(File.ReadAllText(r.SbomPath))!["components"]!.AsArray();
        foreach (var (file, sha) in inRootA)
        {
            var c = bom.Single(c => (string?)c!["name"] == file)!;
            Assert.Equal(sha, (string?)c["hashes"]![0]!["content"]);
            Assert.Equal(SyntheticRuntime.FullVersion, (string?)c["version"]);
        }

        var bundle = r.Bundles.Single(b => b.EndsWith(".img.sigstore.json", StringComparison.Ordinal));
        var files = KeyPairFiles.In(Path.Combine(os.Dir, "pub"));
        files.Write(key, "password");
        var v = CliRunner.Run("verify", r.ImagePath, "--bundle", bundle, "--key", files.PublicKeyPath, "--output", "json");
        Assert.True(v.ExitCode == 0, v.Error);
        var deps = JsonNode.Parse(v.Out)!["predicate"]!["buildDefinition"]!["resolvedDependencies"]!.AsArray()
            .Where(d => (string?)d!["annotations"]!["kind"] == "runtime").ToList();
        Assert.Equal(inRootA.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)),
            deps.Select(d => ((string)d!["name"]!, (string)d["digest"]!["sha256"]!)));
        Assert.All(deps, d => Assert.Equal($"{SyntheticRuntime.Reference}@{r.Manifest.Root.RuntimeImage!.Digest}", (string?)d!["uri"]));
    }

    /// <summary>A release without the board's platform: exit 2, one line naming the release and the platform, nothing written.</summary>
    [Fact]
    public void MissingPlatform_IsRefusedByName()
    {
        using var os = new SyntheticOs(runtimeArches: ["arm64"]);
        var outDir = Path.Combine(os.Dir, "out");
        var r = CliRunner.Run("build", os.Profile("noamd64"), "-o", outDir, "--store", os.StoreDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Error.Trim().Split('\n'), l => l.Contains("the content store's " + SyntheticRuntime.Reference + " has no linux/amd64", StringComparison.Ordinal));
        Assert.Contains("it has: linux/arm64", r.Error);
        Assert.Contains("kits/runtime/publish.sh", r.Error);
        Assert.False(Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any(), "the refused build wrote outputs");
    }

    /// <summary>linux/arm/v7 (not publishable here): the message says what to add to the store, and how to make it.</summary>
    [Fact]
    public void MissingArmv7_SaysWhatToAdd()
    {
        using var os = new SyntheticOs(runtimeArches: ["amd64", "arm64"]);
        var e = Assert.Throws<UserInputException>(() => RuntimeRelease.Load(ContentStore.Open(os.StoreDir), new RuntimeSpec { Version = SyntheticRuntime.Version },
            Platform.Parse("linux/arm/v7"), "site.yaml", "armv7-rpi", os.Dir));
        Assert.StartsWith($"site.yaml: the content store's {SyntheticRuntime.Reference} has no linux/arm/v7, which target.board armv7-rpi runs", e.Message);
        Assert.Contains("bash kits/runtime/publish.sh amd64 arm64 armv7", e.Message);
        Assert.Contains("appliance store add", e.Message);
        Assert.Contains("runtime.absent: true", e.Message);
    }

    /// <summary>A release the store does not hold: the profile field and the reference are named, with how to publish it.</summary>
    [Fact]
    public void MissingRelease_NamesTheReference()
    {
        using var os = new SyntheticOs(runtimeArches: []);
        var e = Assert.Throws<UserInputException>(() => os.Build(os.Profile("none"), Path.Combine(os.Dir, "out")));
        Assert.Contains($"runtime.version names {SyntheticRuntime.Reference}, which the content store does not hold", e.Message);
        Assert.Contains("kits/runtime/publish.sh", e.Message);
        Assert.Equal("appliance/runtime:1.2.3", RuntimeRelease.ReferenceOf("v1.2.3"));
    }

    /// <summary>runtime.absent: true builds without the release: no programs in root-a, build.json and the SBOM say so.</summary>
    [Fact]
    [Trait("Category", "External")]
    public void AbsentRuntime_BuildsWithoutIt_AndSaysSo()
    {
        using var os = new SyntheticOs(runtimeArches: []);
        var profile = os.Profile("absent");
        File.WriteAllText(profile, File.ReadAllText(profile).Replace($"version: {SyntheticRuntime.Version}", "absent: true", StringComparison.Ordinal));
        var r = os.Build(profile, Path.Combine(os.Dir, "out"));
        var lib = Path.Combine(RootAFiles(r, Path.Combine(os.Dir, "x"), "usr/lib/appliance"), "usr/lib/appliance");
        Assert.Equal(["rc.boot", "rc.shutdown"], Directory.GetFiles(lib).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // init must not respawn a program that is not there
        var inittab = File.ReadAllText(Path.Combine(RootAFiles(r, Path.Combine(os.Dir, "y"), "etc/inittab"), "etc", "inittab"));
        Assert.DoesNotContain("::respawn:/usr/lib/appliance/appliance-firstboot", inittab);
        Assert.Contains("::sysinit:/usr/lib/appliance/rc.boot", inittab);
        Assert.Equal("absent", r.Manifest.Root.Runtime);
        Assert.Null(r.Manifest.Root.RuntimeImage);
        var names = JsonNode.Parse(File.ReadAllText(r.SbomPath))!["components"]!.AsArray().Select(c => (string?)c!["name"]);
        Assert.DoesNotContain("appliance-runtime", names);
    }
}
