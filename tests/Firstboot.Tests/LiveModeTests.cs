// appliance.mode=live: first boot from the medium's read-only files, nothing partitioned, DATA a plain directory.
using System.Text.Json.Nodes;
using Appliance.Firstboot.Tests.Support;

namespace Appliance.Firstboot.Tests;

/// <summary>
/// The medium is laid out under <c>--root</c> and bind-mounted read-only over itself (as the initramfs mounts the
/// ISO); the kernel command line says <c>appliance.mode=live</c>. First boot runs its steps with device actions off.
/// </summary>
[Trait("Category", "External")]
public sealed class LiveModeTests
{
    /// <summary>
    /// Exit 0 without a boot partition or a disk: secrets and manifests on DATA (0600 for the secrets), the journal
    /// there, status "live", no bless, and every file of the medium as it was.
    /// </summary>
    [Fact]
    public void Live_RunsTheStepsFromTheMedium_WithoutTouchingIt()
    {
        if (ProcessRunner.Run("id", ["-u"]).Out.Trim() != "0") Assert.Skip("needs root to bind-mount the medium read-only");
        using var dir = new TempDir("live-");
        var paths = new FirstbootPaths(dir["root"]);
        var image = dir["site.img"];
        var (result, boot) = TestDisk.BuildImage(image);
        TestMedium.Write(image, result, boot, paths, 1L << 30, "live");
        Directory.CreateDirectory(Path.Combine(paths.Root, "etc/appliance"));
        File.WriteAllText(paths.BuildJson, $"{{\"runtime\":\"v1.31.4\",\"osDigest\":\"sha256:{new string('e', 64)}\",\"sourceDateEpoch\":{TestDisk.Epoch}}}\n");
        var before = TestMedium.Fingerprint(paths);
        ProcessRunner.Run("mount", ["--bind", paths.Medium, paths.Medium]).Ok();
        try
        {
            ProcessRunner.Run("mount", ["-o", "remount,ro,bind", paths.Medium]).Ok();
            var (file, args) = TestDisk.Command(["run", "--root", paths.Root, "--device-actions", "off", "--no-set-clock", "--no-supervise"]);
            var r = ProcessRunner.Run(file, args);
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            Assert.Contains("no disk is touched", r.Error);
            Assert.Contains("secrets: live: copied from the medium's site.yaml", r.Error);
            Assert.Contains("bless: live from the medium: no boot entry to bless", r.Error);
            Assert.Contains("from the medium (live)", r.Out);

            var token = Path.Combine(paths.Runtime, "token");
            Assert.Equal(TestDisk.Token + "\n", File.ReadAllText(token));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(token));
            Assert.Contains(TestDisk.KeyMarker, File.ReadAllText(Path.Combine(paths.Runtime, "tls", "server-ca.key")));
            Assert.True(File.Exists(Path.Combine(paths.ManifestsDir, "demo.yaml")));
            Assert.Equal(["partition", "secrets", "manifests", "bless"],
                JsonNode.Parse(File.ReadAllText(paths.Journal))!["done"]!.AsArray().Select(n => n!.GetValue<string>()));
            var status = JsonNode.Parse(File.ReadAllText(paths.Status))!;
            Assert.Equal("live", status["mode"]!.GetValue<string>());
            Assert.Null(status["reason"]);
            Assert.Null(status["slot"]);
        }
        finally
        {
            ProcessRunner.Run("umount", [paths.Medium]);
        }
        Assert.Equal(before, TestMedium.Fingerprint(paths));
    }
}
