// `appliance build` with signing.key: SBOM beside the image, DSSE bundles with provenance, verify, tamper, bad keys.
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>The signed outputs of the standard x86_64-uefi test image (built once per run by <see cref="BootTestSupport"/>).</summary>
[Collection("appliance-boot")]
[Trait("Category", "External")]
public sealed class BuildSigningTests
{
    private const string Board = "x86_64-uefi";

    private static string Out(BuiltImage img, string suffix) =>
        Path.Combine(Path.GetDirectoryName(img.ImagePath)!, BootTestSupport.SiteName(Board) + suffix);

    /// <summary>The image, its manifest and its SBOM each have a bundle that `appliance verify` accepts with the public key.</summary>
    [Fact]
    public void SignedBuild_WritesSbomAndBundles_ThatVerify()
    {
        var img = BootTestSupport.Image(Board);
        foreach (var file in new[] { ".img", ".manifest.json", ".cdx.json" })
        {
            var path = Out(img, file);
            Assert.True(File.Exists(path + ".sigstore.json"), path + ".sigstore.json");
            var r = CliRunner.Run("verify", path, "--key", BootTestSupport.PublicKeyPath);
            Assert.True(r.ExitCode == 0, $"verify {path}: {r.Error}");
            Assert.Contains("Verified", r.Out);
        }
    }

    /// <summary>`verify --output json` shows the provenance: profile, OS image, runtime, builder, SOURCE_DATE_EPOCH and the SBOM digest.</summary>
    [Fact]
    public void Verify_Json_ShowsTheProvenance()
    {
        var img = BootTestSupport.Image(Board);
        var r = CliRunner.Run("verify", img.ImagePath, "--key", BootTestSupport.PublicKeyPath, "--output", "json");
        Assert.True(r.ExitCode == 0, r.Error);
        var statement = JsonNode.Parse(r.Out)!;
        Assert.Equal(BootTestSupport.SiteName(Board) + ".img", (string?)statement["subject"]![0]!["name"]);
        Assert.Equal(DiskTools.Sha256(img.ImagePath).ToLowerInvariant(), (string?)statement["subject"]![0]!["digest"]!["sha256"]);
        var manifest = JsonNode.Parse(File.ReadAllText(img.ManifestPath))!;
        var def = statement["predicate"]!["buildDefinition"]!;
        Assert.Equal("profile.yaml", (string?)def["externalParameters"]!["profile"]!["name"]);
        Assert.Matches("^[0-9a-f]{64}$", (string?)def["externalParameters"]!["profile"]!["digest"]!["sha256"]);
        Assert.Equal((long)manifest["root"]!["sourceDateEpoch"]!, (long)def["internalParameters"]!["SOURCE_DATE_EPOCH"]!);
        var deps = def["resolvedDependencies"]!.AsArray();
        var os = deps.Single(d => (string?)d!["annotations"]!["kind"] == "os-image")!;
        Assert.Equal(BootTestSupport.OsRef("amd64"), (string?)os["name"]);
        Assert.Equal((string?)manifest["root"]!["osDigest"], "sha256:" + (string?)os["digest"]!["sha256"]);
        // The runtime release's files, each by the SHA-256 of the bytes root-a holds (unsquashfs takes them out of the image).
        var runtime = deps.Where(d => (string?)d!["annotations"]!["kind"] == "runtime").ToList();
        Assert.Equal(["appliance-firstboot", "appliance-runtime", "libe_sqlite3.so", "pause.oci.tar"], runtime.Select(d => (string?)d!["name"]));
        var files = BootTestSupport.RootAFiles(img, "usr/lib/appliance");
        foreach (var d in runtime)
            Assert.Equal(DiskTools.Sha256(Path.Combine(files, "usr/lib/appliance", (string)d!["name"]!)).ToLowerInvariant(), (string?)d["digest"]!["sha256"]);
        var release = manifest["root"]!["runtimeImage"]!;
        Assert.Equal($"{release["reference"]}@{release["digest"]}", (string?)runtime[0]!["uri"]);
        var run = statement["predicate"]!["runDetails"]!;
        Assert.False(string.IsNullOrEmpty((string?)run["builder"]!["version"]!["appliance"]));
        var sbom = run["byproducts"]!.AsArray().Single()!;
        Assert.Equal(BootTestSupport.SiteName(Board) + ".cdx.json", (string?)sbom["name"]);
        Assert.Equal(DiskTools.Sha256(Out(img, ".cdx.json")).ToLowerInvariant(), (string?)sbom["digest"]!["sha256"]);
    }

    /// <summary>The SBOM lists exactly the packages dpkg-query reads from the status file inside the image's root-a.</summary>
    [Fact]
    public void Sbom_ListsThePackagesInTheImage()
    {
        BootTestSupport.RequireTools("unsquashfs", "dpkg-query");
        var img = BootTestSupport.Image(Board);
        var rootA = BootTestSupport.Partitions(img)["root-a"];
        var admin = Path.Combine(BootTestSupport.WorkDir, "dpkg-admin-" + Guid.NewGuid().ToString("N"));
        try
        {
            // The status file as the image really carries it: read out of root-a's squashfs by squashfs-tools.
            var extract = Path.Combine(admin, "x");
            Directory.CreateDirectory(admin);
            DiskTools.Run("unsquashfs", ["-no-progress", "-o", rootA.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture), "-d", extract, img.ImagePath, "var/lib/dpkg/status"]);
            File.Copy(Path.Combine(extract, "var/lib/dpkg/status"), Path.Combine(admin, "status"));
            Directory.CreateDirectory(Path.Combine(admin, "info"));
            Directory.CreateDirectory(Path.Combine(admin, "updates"));
            var q = DiskTools.Run("dpkg-query", ["--admindir", admin, "-W", "-f", "${db:Status-Status} ${Package} ${Version} ${Architecture}\\n"]);
            var expected = q.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ')).Where(f => f[0] == "installed")
                .Select(f => Appliance.ImageBuilder.Signing.Sbom.CycloneDxWriter.DebPurl(new(f[1], f[2], f[3]), "debian-12"))
                .Order(StringComparer.Ordinal).ToList();
            Assert.True(expected.Count > 20, $"only {expected.Count} packages installed in the image");
            Assert.Contains(expected, p => p.StartsWith("pkg:deb/debian/busybox-static@", StringComparison.Ordinal));

            var bom = JsonNode.Parse(File.ReadAllText(Out(img, ".cdx.json")))!;
            Assert.Equal("1.6", (string?)bom["specVersion"]);
            var components = bom["components"]!.AsArray();
            var listed = components.Where(c => ((string)c!["purl"]!).StartsWith("pkg:deb/", StringComparison.Ordinal)).Select(c => (string)c!["purl"]!).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(expected, listed);
            var own = components.Where(c => (string?)c!["type"] == "application").Select(c => (string?)c!["name"]).ToList();
            Assert.Equal(["appliance", "appliance-firstboot", "appliance-runtime"], own);
            var version = (string?)JsonNode.Parse(File.ReadAllText(img.ManifestPath))!["root"]!["runtime"];
            Assert.StartsWith(BootTestSupport.RequireRuntimeRelease() + "+", version);
            Assert.Equal(version, (string?)components.Single(c => (string?)c!["name"] == "appliance-runtime")!["version"]);
            Assert.Equal("library", (string?)components.Single(c => (string?)c!["name"] == "libe_sqlite3.so")!["type"]);
        }
        finally
        {
            if (Directory.Exists(admin)) Directory.Delete(admin, true);
        }
    }

    /// <summary>The build's SBOM validates against the official CycloneDX 1.6 JSON schema (ajv, as in the Signing tests).</summary>
    [Fact]
    public void Sbom_ValidatesAgainstTheCycloneDx16Schema()
    {
        var img = BootTestSupport.Image(Board);
        var npm = Appliance.ImageBuilder.Tests.Signing.SbomTests.Schemas();
        var sbom = Out(img, ".cdx.json");
        var v = Appliance.ImageBuilder.Tests.Signing.NpmCache.RunScript(npm, "validate-build-bom.js", Appliance.ImageBuilder.Tests.Signing.SbomTests.ValidateScript, sbom);
        Assert.True(v.ExitCode == 0, v.Out + v.Error);
        Assert.Contains($"valid {sbom}", v.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>One flipped byte inside root-a of a copy of the image makes verify fail (exit 1) saying the file was altered.</summary>
    [Fact]
    public void TamperedImage_FailsVerify()
    {
        BootTestSupport.RequireTools("cp");
        var img = BootTestSupport.Image(Board);
        var dir = Path.Combine(BootTestSupport.WorkDir, "tamper-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var copy = Path.Combine(dir, Path.GetFileName(img.ImagePath));
            DiskTools.Run("cp", ["--sparse=always", img.ImagePath, copy]);
            File.Copy(img.ImagePath + ".sigstore.json", copy + ".sigstore.json");
            Assert.Equal(0, CliRunner.Run("verify", copy, "--key", BootTestSupport.PublicKeyPath).ExitCode);
            var offset = BootTestSupport.Partitions(img)["root-a"].Offset + 4096;
            using (var f = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite))
            {
                f.Position = offset;
                int b = f.ReadByte();
                f.Position = offset;
                f.WriteByte((byte)(b ^ 0x01));
            }
            var r = CliRunner.Run("verify", copy, "--key", BootTestSupport.PublicKeyPath);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("altered", r.Error);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static void AssertNothingBuilt(CliResult r, string outDir, string expected)
    {
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.Error}");
        Assert.Contains(expected, r.Error);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.DoesNotContain("flattening", r.Error);
        Assert.True(!Directory.Exists(outDir) || Directory.GetFileSystemEntries(outDir).Length == 0,
            $"left behind: {string.Join(", ", Directory.Exists(outDir) ? Directory.GetFileSystemEntries(outDir) : [])}");
    }

    /// <summary>A wrong password stops the build before any work (exit 2) and leaves no output.</summary>
    [Fact]
    public void WrongPassword_Exit2_NoOutputs()
    {
        BootTestSupport.RequireOsImage("amd64");
        var profile = BootTestSupport.WriteProfile("wrong-password", Board, signingKey: BootTestSupport.SigningKeyPath);
        var outDir = Path.Combine(BootTestSupport.WorkDir, "wrong-password-out");
        var r = CliRunner.Run(new Dictionary<string, string?> { ["APPLIANCE_KEY_PASSWORD"] = "not the password" },
            "build", profile, "-o", outDir, "--store", BootTestSupport.StoreDir);
        AssertNothingBuilt(r, outDir, "signing.key");
    }

    /// <summary>A signing.key that names a missing file stops the build at once (exit 2), naming the field.</summary>
    [Fact]
    public void MissingKeyFile_Exit2_NoOutputs()
    {
        var profile = BootTestSupport.WriteProfile("missing-key", Board, signingKey: "no-such-dir/appliance.key");
        var outDir = Path.Combine(BootTestSupport.WorkDir, "missing-key-out");
        var r = CliRunner.Run(BootTestSupport.SigningEnv, "build", profile, "-o", outDir, "--store", BootTestSupport.StoreDir);
        AssertNothingBuilt(r, outDir, "signing.key 'no-such-dir/appliance.key'");
    }

    /// <summary>No APPLIANCE_KEY_PASSWORD and stdin not a terminal (a separate process): no prompt, exit 2, no output.</summary>
    [Fact]
    public void NoPassword_NoTerminal_Exit2_NoOutputs()
    {
        BootTestSupport.RequireTools("env", "dotnet");
        var profile = BootTestSupport.WriteProfile("no-password", Board, signingKey: BootTestSupport.SigningKeyPath);
        var outDir = Path.Combine(BootTestSupport.WorkDir, "no-password-out");
        var dll = Path.Combine(AppContext.BaseDirectory, "appliance.dll");
        var r = DiskTools.Run("env", ["-u", "APPLIANCE_KEY_PASSWORD", "dotnet", dll, "build", profile, "-o", outDir, "--store", BootTestSupport.StoreDir], check: false);
        AssertNothingBuilt(new CliResult(r.ExitCode, r.Out, r.Error), outDir, "APPLIANCE_KEY_PASSWORD");
    }
}
