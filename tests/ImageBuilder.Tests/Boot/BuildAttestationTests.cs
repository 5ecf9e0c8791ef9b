// The SBOM and provenance the build writes, from given facts (no build): images by digest, inputs in order.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.Signing;
using Appliance.ImageBuilder.Signing.Keys;
using Appliance.ImageBuilder.Signing.Sbom;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary><see cref="BuildAttestation"/> on its own.</summary>
[Trait("Category", "RoundTrip")]
public sealed class BuildAttestationTests
{
    private static readonly string Os = new('a', 64), Runtime = new('b', 64), Firstboot = new('f', 64), Sqlite = new('9', 64),
        Hello = new('c', 64), Pause = new('d', 64);

    private static BuildFacts Facts() => new()
    {
        ProfileName = "site.yaml", ProfileSha256 = new string('e', 64),
        Inputs =
        [
            new("os-image", "appliance/os-debian:bookworm", Os),
            new("runtime", "appliance-runtime", Runtime, "appliance/runtime:0.1.0@sha256:" + new string('1', 64)),
            new("image", "appliance/hello:1.0", Hello),
            new("image", "registry.k8s.io/pause:3.9", Pause),
        ],
        Packages = [new("libc6", "2.36-9+deb12u13", "amd64"), new("busybox-static", "1:1.35.0-4+b7", "amd64")],
        RuntimeVersion = "0.1.0+abc", RuntimeFiles = [new("appliance-firstboot", "0.1.0+abc", Firstboot), new("appliance-runtime", "0.1.0+abc", Runtime),
            new("libe_sqlite3.so", "0.1.0+abc", Sqlite)],
        BuilderVersion = "0.1.0+test", SourceDateEpoch = 1700000000,
    };

    /// <summary>Packages, every preloaded image by digest, the builder and each runtime file by digest; equal facts give equal bytes.</summary>
    [Fact]
    public void Sbom_ListsPackagesImagesByDigestAndOurComponents()
    {
        var bytes = BuildAttestation.Sbom("site.img", Facts());
        Assert.Equal(bytes, BuildAttestation.Sbom("site.img", Facts()));
        var components = JsonNode.Parse(bytes)!["components"]!.AsArray();
        Assert.Equal(["appliance@0.1.0+test", "appliance-firstboot@0.1.0+abc", "appliance-runtime@0.1.0+abc"],
            components.Where(c => (string?)c!["type"] == "application").Select(c => $"{c!["name"]}@{c["version"]}"));
        Assert.Equal([Firstboot, Runtime, Sqlite], components.Where(c => ((string?)c!["name"])!.StartsWith("appliance-", StringComparison.Ordinal) || (string?)c!["name"] == "libe_sqlite3.so")
            .Select(c => (string?)c!["hashes"]![0]!["content"]));
        Assert.Equal(["libe_sqlite3.so", "busybox-static", "libc6"], components.Where(c => (string?)c!["type"] == "library").Select(c => (string?)c!["name"]));
        var images = components.Where(c => (string?)c!["type"] == "container").ToList();
        Assert.Equal(["appliance/hello:1.0", "registry.k8s.io/pause:3.9"], images.Select(c => (string?)c!["name"]));
        Assert.Equal(["sha256:" + Hello, "sha256:" + Pause], images.Select(c => (string?)c!["version"]));
    }

    /// <summary>The signed statement carries the profile, every input in order with its kind, the epoch and the SBOM digest.</summary>
    [Fact]
    public void Provenance_InTheSignedStatement_HasEveryInput()
    {
        using var tmp = new TempDir("attestation-");
        var dir = tmp.Path;
        var file = Path.Combine(dir, "site.img");
        File.WriteAllText(file, "image bytes");
        var sbom = BuildAttestation.Sbom("site.img", Facts());
        using var key = SigningKey.Generate();
        var bundles = BuildAttestation.Sign(key, BuildAttestation.Provenance(Facts(), "site.cdx.json", sbom), [(file, System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)))]);
        Assert.Equal([file + ".sigstore.json"], bundles);
        var v = Verifier.VerifyFile(file, key.Public);
        Assert.True(v.Verified, v.Reason);
        var predicate = JsonNode.Parse(Encoding.UTF8.GetString(v.Statement!.Json))!["predicate"]!;
        var deps = predicate["buildDefinition"]!["resolvedDependencies"]!.AsArray();
        Assert.Equal(["os-image:" + Os, "runtime:" + Runtime, "image:" + Hello, "image:" + Pause],
            deps.Select(d => $"{d!["annotations"]!["kind"]}:{d["digest"]!["sha256"]}"));
        Assert.Equal(new string('e', 64), (string?)predicate["buildDefinition"]!["externalParameters"]!["profile"]!["digest"]!["sha256"]);
        Assert.Equal(1700000000, (long)predicate["buildDefinition"]!["internalParameters"]!["SOURCE_DATE_EPOCH"]!);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(sbom)),
            (string?)predicate["runDetails"]!["byproducts"]![0]!["digest"]!["sha256"]);
        Assert.Equal("0.1.0+test", (string?)predicate["runDetails"]!["builder"]!["version"]!["appliance"]);
    }
}
