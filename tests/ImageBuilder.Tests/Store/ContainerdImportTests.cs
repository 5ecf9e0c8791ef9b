// The airgap archive in a real containerd: `ctr images import`, then `ctr run` (own network namespace, no network) prints the marker.
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Store;

[Collection("containerd")]
public class ContainerdImportTests
{
    private const string Marker = "APPLIANCE-FIXTURE-OK";

    [Fact]
    [Trait("Category", "External")]
    public void Containerd_imports_the_airgap_archive_and_runs_every_image()
    {
        if (ContainerdDaemon.Unavailable() is { } why)
            Assert.Skip(why);
        using var t = new TempDir();
        var store = t["store"];
        var add = CliRunner.Run("store", "--store", store, "add", ImageFixtures.File("busybox-multi.oci.tar"),
            ImageFixtures.File("busybox.docker.tar"), ImageFixtures.File("busybox-gzip.oci.tar"));
        Assert.True(add.ExitCode == 0, add.Error);
        string[] names = ["example.local/fixtures/busybox-multi:1.35", "example.local/fixtures/busybox:1.35", "example.local/fixtures/busybox-gzip:1.35"];
        var archive = t["airgap-amd64.tar"];
        ContentStore.Open(store).WriteAirgapArchive(names, Board.Get("x86_64-uefi").Platform, archive, DateTimeOffset.FromUnixTimeSeconds(1700000000));
        var arm = t["airgap-arm64.tar"];
        ContentStore.Open(store).WriteAirgapArchive([names[0]], Board.Get("arm64-rpi").Platform, arm, DateTimeOffset.FromUnixTimeSeconds(1700000000));

        using var ctrd = ContainerdDaemon.Start();
        var import = ctrd.Ctr("images", "import", archive);
        Assert.True(import.ExitCode == 0, import.Error);
        var ls = ctrd.Ctr("images", "ls", "-q");
        foreach (var n in names)
            Assert.Contains(n, ls.Out);
        for (int i = 0; i < names.Length; i++)
        {
            var run = ctrd.Ctr("run", "--rm", names[i], $"fixture-{i}");
            Assert.True(run.ExitCode == 0, $"ctr run {names[i]}: {run.Error}");
            Assert.Contains(Marker, run.Out);
        }
        // `ctr run` gives the container its own network namespace: only a loopback device, so no network.
        var net = ctrd.Ctr("run", "--rm", names[1], "fixture-net", "/bin/busybox", "cat", "/proc/net/dev");
        Assert.True(net.ExitCode == 0, net.Error);
        var devices = net.Out.Split('\n').Skip(2).Where(l => l.Contains(':')).Select(l => l.Split(':')[0].Trim()).ToList();
        Assert.Equal(["lo"], devices);
        // The arm64 archive imports too (content only: this host cannot run arm64 code).
        var armImport = ctrd.Ctr("images", "import", "--platform", "linux/arm64", "--no-unpack", arm);
        Assert.True(armImport.ExitCode == 0, armImport.Error);
        var check = ctrd.Ctr("images", "check");
        Assert.Contains("linux/arm64", check.Out + ctrd.Ctr("images", "ls").Out);
    }
}
