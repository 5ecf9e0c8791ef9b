// First boot on real loop devices: the layouts it meets, a second boot, and each failure ending with its reason.
using System.Text.Json.Nodes;
using Appliance.Firstboot.Site;
using Appliance.Firstboot.Tests.Support;

namespace Appliance.Firstboot.Tests;

/// <summary>appliance-firstboot run against disks made by the image writers, checked with sgdisk, sfdisk, e2fsck, mtools.</summary>
[Collection(LoopCollection.Name)]
[Trait("Category", "External")]
public sealed class FirstbootRunTests
{
    private static JsonObject Status(TestDisk disk) => (JsonObject)JsonNode.Parse(File.ReadAllText(disk.Paths.Status))!;

    /// <summary>
    /// GPT image ending after root-a: the backup GPT moves to the disk's end, root-b (root-a's size) and data (to the
    /// end) are added, boot and root-a keep their bytes; data is ext4 'data' mounted at DATA; the loader entry loses its
    /// counter; the manifest is placed; the status and banner name the site. A second run changes nothing.
    /// </summary>
    [Fact]
    public void Gpt_ImageEndingAfterRootA_GetsRootBAndData_AndASecondBootChangesNothing()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create(DiskKind.GptEndsAfterRootA);
        var rootABefore = PartitionBytes(disk, 2);
        var r = disk.Run();
        Assert.True(r.ExitCode == 0, r.Out + r.Error);

        Assert.Contains("No problems found", ProcessRunner.Run("sgdisk", ["-v", disk.Device]).Out);
        var dump = ProcessRunner.Run("sfdisk", ["--json", disk.Device]).Ok().Out;
        var table = JsonNode.Parse(dump)!["partitiontable"]!;
        var parts = table["partitions"]!.AsArray();
        Assert.Equal(["boot", "root-a", "root-b", "data"], parts.Select(p => p!["name"]!.GetValue<string>()));
        long sectors = (1536L << 20) / 512;
        Assert.Equal(sectors - 34, table["lastlba"]!.GetValue<long>());
        Assert.Equal(parts[1]!["size"]!.GetValue<long>(), parts[2]!["size"]!.GetValue<long>());
        Assert.Equal(sectors - 34, parts[3]!["start"]!.GetValue<long>() + parts[3]!["size"]!.GetValue<long>() - 1);
        Assert.Equal(rootABefore, PartitionBytes(disk, 2));

        Assert.True(disk.DataMounted);
        Assert.Equal("partition\nsecrets\nmanifests\nbless", string.Join('\n', JsonNode.Parse(File.ReadAllText(disk.Paths.Journal))!["done"]!.AsArray().Select(n => n!.GetValue<string>())));
        Assert.Equal("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n", File.ReadAllText(Path.Combine(disk.Paths.ManifestsDir, "demo.yaml")));
        Assert.Contains("BEGIN CERTIFICATE", File.ReadAllText(Path.Combine(disk.Paths.Runtime, "tls", "server-ca.crt")));
        Assert.Equal(TestDisk.Token + "\n", File.ReadAllText(Path.Combine(disk.Paths.Runtime, "token")));
        Assert.Equal([Path.Combine(disk.Paths.Runtime, "tls", "server-ca.key"), Path.Combine(disk.Paths.Runtime, "token")], PowerCutTests.SecretsOnData(disk));
        Assert.True(File.Exists(Path.Combine(disk.Paths.Logs, "firstboot.log")));
        var status = Status(disk);
        Assert.Equal("shop-042", status["site"]!.GetValue<string>());
        Assert.Equal("Disabled", status["node"]!["state"]!.GetValue<string>());
        Assert.Equal("https://192.168.10.5:6443", status["apiAddress"]!.GetValue<string>());
        Assert.Null(status["reason"]);
        Assert.Contains("Appliance site shop-042 (server), node node1: Disabled", r.Out);
        Assert.Contains("v1.31.4", r.Out);

        var printed = TestDisk.Firstboot(["status", "--root", disk.Root]);
        Assert.True(printed.ExitCode == 0, printed.Error);
        Assert.Contains("API       https://192.168.10.5:6443", printed.Out);
        var json = TestDisk.Firstboot(["status", "--root", disk.Root, "--output", "json"]).Ok().Out;
        Assert.Equal("shop-042", JsonNode.Parse(json)!["site"]!.GetValue<string>());

        var first = disk.Fingerprint();
        Assert.Contains("appliance-a.conf", first);
        Assert.DoesNotContain("clusterToken", first);
        PowerCutTests.AssertNoSecretOnBoot(disk);

        var second = disk.Run();
        Assert.True(second.ExitCode == 0, second.Out + second.Error);
        Assert.Contains("secrets: done on an earlier boot", second.Error);
        Assert.Contains("bless: done on an earlier boot", second.Error);
        Assert.Equal(first, disk.Fingerprint());
    }

    /// <summary>An agent site: the token goes to DATA/secrets/token (0600), no pki, no manifests placed, the API is the server's.</summary>
    [Fact]
    public void Agent_TokenGoesToDataSecrets_AndNoManifestsArePlaced()
    {
        TestDisk.RequireLoop();
        var yaml = TestDisk.SiteYaml(role: "agent").Replace("cluster:\n  token: <redacted>\n", "cluster:\n  server: https://10.0.0.1:6443\n");
        yaml = yaml[..yaml.IndexOf("pki:", StringComparison.Ordinal)];
        using var disk = TestDisk.Create(siteYaml: yaml);
        var r = disk.Run();
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        var token = Path.Combine(disk.Paths.SecretsDir, "token");
        Assert.Equal(TestDisk.Token + "\n", File.ReadAllText(token));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(token));
        Assert.False(File.Exists(Path.Combine(disk.Paths.Runtime, "token")));
        Assert.False(Directory.Exists(disk.Paths.ManifestsDir));
        Assert.Equal("https://10.0.0.1:6443", Status(disk)["apiAddress"]!.GetValue<string>());
        Assert.Equal(-1, disk.BootBytes().AsSpan().IndexOf("power-cut-secret-7f3e9c"u8));
    }

    private static string PartitionBytes(TestDisk disk, int number)
    {
        var dump = JsonNode.Parse(ProcessRunner.Run("sfdisk", ["--json", disk.Device]).Ok().Out)!["partitiontable"]!["partitions"]![number - 1]!;
        long start = dump["start"]!.GetValue<long>() * 512, size = dump["size"]!.GetValue<long>() * 512;
        return Convert.ToHexStringLower(Appliance.Common.FileSha256.Hash(disk.Device, start, size));
    }
}
