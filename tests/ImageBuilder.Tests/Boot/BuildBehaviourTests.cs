// Site separation, reproducibility, offline builds and the build's error cases.
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>What `appliance build` promises beyond booting.</summary>
[Collection("appliance-boot")]
[Trait("Category", "External")]
public sealed class BuildBehaviourTests
{
    private static string Sha(string path, long offset, long length) =>
        Convert.ToHexStringLower(Appliance.Common.FileSha256.Hash(path, offset, length));

    /// <summary>Two sites from the same base: identical root-a; boot partitions that differ only in appliance/site.yaml.</summary>
    [Fact]
    public void TwoSites_ShareRootA_AndDifferOnlyInSiteYaml()
    {
        BootTestSupport.RequireTools("mcopy");
        BootTestSupport.RequireOsImage("amd64");
        var work = BootTestSupport.WorkDir;
        var a = BootTestSupport.Build("site-north", BootTestSupport.WriteProfile("site-north", "x86_64-uefi", hostname: "north", token: "token-north-123456"), Path.Combine(work, "sep", "north"));
        var b = BootTestSupport.Build("site-south", BootTestSupport.WriteProfile("site-south", "x86_64-uefi", hostname: "south", token: "token-south-654321"), Path.Combine(work, "sep", "south"));
        var pa = BootTestSupport.Partitions(a);
        var pb = BootTestSupport.Partitions(b);
        Assert.Equal(pa["root-a"], pb["root-a"]);
        Assert.Equal(Sha(a.ImagePath, pa["root-a"].Offset, pa["root-a"].Size), Sha(b.ImagePath, pb["root-a"].Offset, pb["root-a"].Size));
        Assert.Equal(pa["root-a"].Sha256, Sha(a.ImagePath, pa["root-a"].Offset, pa["root-a"].Size));

        var fa = BootTestSupport.FatDigests(a.ImagePath, pa["boot"].Offset);
        var fb = BootTestSupport.FatDigests(b.ImagePath, pb["boot"].Offset);
        Assert.Equal(fa.Keys, fb.Keys);
        var differing = fa.Keys.Where(k => fa[k] != fb[k]).ToList();
        Assert.Equal(["appliance/site.yaml"], differing);
        var siteA = System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(a.ImagePath, pa["boot"].Offset, "appliance/site.yaml"));
        Assert.Contains("north", siteA);
        Assert.Contains("token-north-123456", siteA);
    }

    /// <summary>Building the same profile again, here inside `unshare -n` (no network at all) from a separate process, gives the same bytes.</summary>
    [Fact]
    public void Rebuild_Offline_GivesSameBytes()
    {
        BootTestSupport.RequireTools("unshare", "dotnet");
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") Assert.Skip("unshare -n needs root");
        var first = BootTestSupport.Image("x86_64-uefi");
        var outDir = Path.Combine(BootTestSupport.WorkDir, "offline");
        var dll = Path.Combine(AppContext.BaseDirectory, "appliance.dll");
        var r = DiskTools.Run("unshare", ["-n", "env", "APPLIANCE_KEY_PASSWORD=" + BootTestSupport.KeyPassword, "dotnet", dll, "build", BootTestSupport.StandardProfile("x86_64-uefi"),
            "-o", outDir, "--store", BootTestSupport.StoreDir], check: false);
        Assert.True(r.ExitCode == 0, r.Error);
        var second = Path.Combine(outDir, BootTestSupport.SiteName("x86_64-uefi") + ".img");
        Assert.Equal(new FileInfo(first.ImagePath).Length, new FileInfo(second).Length);
        Assert.Equal(Sha(first.ImagePath, 0, new FileInfo(first.ImagePath).Length), Sha(second, 0, new FileInfo(second).Length));
        Assert.Equal(File.ReadAllText(first.ManifestPath), File.ReadAllText(Path.Combine(outDir, BootTestSupport.SiteName("x86_64-uefi") + ".manifest.json")));
        // Signing is on for this profile: the SBOM and every bundle (deterministic ECDSA, RFC 6979) are byte-identical too.
        var firstDir = Path.GetDirectoryName(first.ImagePath)!;
        var signed = new[] { ".cdx.json", ".img.sigstore.json", ".manifest.json.sigstore.json", ".cdx.json.sigstore.json" };
        foreach (var suffix in signed)
        {
            var f = BootTestSupport.SiteName("x86_64-uefi") + suffix;
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
            Assert.Equal(File.ReadAllBytes(Path.Combine(firstDir, f)), File.ReadAllBytes(Path.Combine(outDir, f)));
        }
    }

    private static void AssertFailsCleanly(string profile, string outDir, string expected)
    {
        var r = CliRunner.Run("build", profile, "-o", outDir, "--store", BootTestSupport.StoreDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Error);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.True(!Directory.Exists(outDir) || Directory.GetFiles(outDir).Length == 0,
            $"left behind: {string.Join(", ", Directory.Exists(outDir) ? Directory.GetFiles(outDir) : [])}");
    }

    /// <summary>An arm64 board with the amd64 OS image stops with the platform in the message.</summary>
    [Fact]
    public void BoardArchMismatch_FailsWithClearMessage()
    {
        BootTestSupport.RequireOsImage("amd64");
        var profile = BootTestSupport.WriteProfile("mismatch", "arm64-uefi", osRef: BootTestSupport.OsRef("amd64"));
        AssertFailsCleanly(profile, Path.Combine(BootTestSupport.WorkDir, "err-mismatch"), "target.board arm64-uefi runs linux/arm64");
    }

    /// <summary>A disk too small for boot + two root slots stops with the sizes in the message.</summary>
    [Fact]
    public void DiskTooSmall_FailsWithClearMessage()
    {
        BootTestSupport.RequireOsImage("amd64");
        var profile = BootTestSupport.WriteProfile("too-small", "x86_64-uefi", diskSize: "1GiB");
        AssertFailsCleanly(profile, Path.Combine(BootTestSupport.WorkDir, "err-small"), "target.diskSize 1GiB is too small");
    }

    /// <summary>An OS image without a kernel stops with "has no kernel".</summary>
    [Fact]
    public void OsImageWithoutKernel_FailsWithClearMessage()
    {
        var layout = Path.Combine(BootTestSupport.WorkDir, "nokernel-layout");
        var img = Appliance.ImageBuilder.Tests.Store.TestImages.Make("nokernel:1", [Appliance.ImageBuilder.Tests.Store.TestImages.SimpleLayer()]);
        Directory.CreateDirectory(Path.Combine(layout, "blobs", "sha256"));
        foreach (var (digest, bytes) in img.Blobs)
            File.WriteAllBytes(Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]), bytes);
        File.WriteAllText(Path.Combine(layout, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllBytes(Path.Combine(layout, "index.json"), img.Index);
        var add = CliRunner.Run("store", "add", "--store", BootTestSupport.StoreDir, "--name", "test/no-kernel:1", layout);
        Assert.True(add.ExitCode == 0, add.Error);
        var profile = BootTestSupport.WriteProfile("no-kernel", "x86_64-uefi", osRef: "test/no-kernel:1");
        AssertFailsCleanly(profile, Path.Combine(BootTestSupport.WorkDir, "err-nokernel"), "has no kernel");
    }

    /// <summary>
    /// Ctrl-C (SIGINT) or SIGTERM stops a separate `appliance build` process with exit 128 + signal, even with a second
    /// signal right after, and leaves nothing behind: sent while the image is being written, no temporary file and no
    /// work directory; sent after the new image is in place but before its manifest, SBOM and signatures are, no
    /// outputs at all. The child inherits the signals this test host ignores (the test runner may ignore SIGINT), so
    /// the first one not ignored is sent.
    /// </summary>
    [Theory]
    [InlineData("*.img.tmp-*")]  // writing the image
    [InlineData("*.img")]        // image committed, manifest hashes and signing still to come
    public async Task Interrupt_LeavesNoTemporaryFilesWorkDirectoryOrOutputs(string stopWhen)
    {
        BootTestSupport.RequireTools("dotnet", "kill");
        var ignored = Convert.ToInt64(File.ReadLines("/proc/self/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))[7..].Trim(), 16);
        int signal = new[] { 2, 15 }.FirstOrDefault(n => (ignored & (1L << (n - 1))) == 0);
        if (signal == 0) Assert.Skip("this test host ignores both SIGINT and SIGTERM, and a child would inherit that");
        _ = BootTestSupport.Image("x86_64-uefi"); // the OS image is in the shared store
        var root = Path.Combine(BootTestSupport.WorkDir, "interrupt-" + (stopWhen.Contains("tmp") ? "writing" : "signing"));
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        var outDir = Directory.CreateDirectory(Path.Combine(root, "out")).FullName;
        var tmp = Directory.CreateDirectory(Path.Combine(root, "tmp")).FullName;
        var env = new Dictionary<string, string?>
        {
            ["TMPDIR"] = tmp, // where the build's work directory goes
            ["APPLIANCE_KEY_PASSWORD"] = BootTestSupport.KeyPassword,
        };
        using var p = ProcessRunner.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "appliance.dll"), "build",
            BootTestSupport.StandardProfile("x86_64-uefi"), "-o", outDir, "--store", BootTestSupport.StoreDir], new ProcessOptions { Environment = env });
        var ct = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow.AddMinutes(5);
        string? seen = null;
        while (seen == null && !p.HasExited && DateTime.UtcNow < deadline)
        {
            seen = Directory.EnumerateFiles(outDir, stopWhen).FirstOrDefault();
            if (seen == null) await Task.Delay(2, ct);
        }
        Assert.True(seen != null && !p.HasExited, $"the build never reached {stopWhen} while running (exit {(p.HasExited ? p.ExitCode : -1)}):\n{(p.HasExited ? p.Error : "")}");
        Assert.NotEmpty(Directory.EnumerateDirectories(tmp, "appliance-build-*"));
        DiskTools.Run("kill", ["-" + signal, p.Id.ToString()]);
        // An impatient second Ctrl-C while the first one's cleanup runs must not cut it short.
        DiskTools.Run("kill", ["-" + signal, p.Id.ToString()], check: false);
        Assert.True(await p.WaitUntilAsync(b => b.HasExited, TimeSpan.FromMinutes(1), ct), $"the build did not stop within a minute of signal {signal}");
        var r = await p.WaitAsync(ct: ct);
        var log = r.Error;
        Assert.True(r.ExitCode == 128 + signal, $"exit {r.ExitCode} after signal {signal}:\n{log}");
        Assert.Contains("removing temporary files and unfinished outputs", log);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outDir));
        // Only the build's own work directory counts: the .NET runtime may leave its diagnostics pipes in TMPDIR.
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp, "appliance-*"));
    }
}
