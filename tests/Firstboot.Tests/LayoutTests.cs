// The other layouts first boot meets: MBR (the Raspberry Pi boards) and a GPT image that still carries root-b.
using System.Text.Json.Nodes;
using Appliance.Firstboot.Tests.Support;

namespace Appliance.Firstboot.Tests;

/// <summary>root-b and data added to an MBR disk and to a GPT image with root-b already present.</summary>
[Collection(LoopCollection.Name)]
[Trait("Category", "External")]
public sealed class LayoutTests
{
    private static JsonArray Partitions(TestDisk disk) =>
        JsonNode.Parse(ProcessRunner.Run("sfdisk", ["--json", disk.Device]).Ok().Out)!["partitiontable"]!["partitions"]!.AsArray();

    /// <summary>MBR: root-b in slot 3 as large as root-a, data in slot 4 to the disk's end; boot code and signature kept.</summary>
    [Fact]
    public void Mbr_GetsRootBInSlot3_AndDataToTheEndInSlot4()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create(DiskKind.MbrEndsAfterRootA);
        var before = Partitions(disk);
        var id = JsonNode.Parse(ProcessRunner.Run("sfdisk", ["--json", disk.Device]).Ok().Out)!["partitiontable"]!["id"]!.GetValue<string>();
        var r = disk.Run();
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        var after = Partitions(disk);
        Assert.Equal(4, after.Count);
        for (int i = 0; i < 2; i++) Assert.Equal(before[i]!.ToJsonString(), after[i]!.ToJsonString());
        Assert.Equal("83", after[2]!["type"]!.GetValue<string>());
        Assert.Equal(after[1]!["size"]!.GetValue<long>(), after[2]!["size"]!.GetValue<long>());
        Assert.Equal((1536L << 20) / 512, after[3]!["start"]!.GetValue<long>() + after[3]!["size"]!.GetValue<long>());
        Assert.Equal(0, after[3]!["start"]!.GetValue<long>() % 2048);
        Assert.Equal(id, JsonNode.Parse(ProcessRunner.Run("sfdisk", ["--json", disk.Device]).Ok().Out)!["partitiontable"]!["id"]!.GetValue<string>());
        Assert.Equal("data", ProcessRunner.Run("blkid", ["-p", "-s", "LABEL", "-o", "value", disk.Loop.Partition(4)]).Ok().Out.Trim());
        PowerCutTests.AssertNoSecretOnBoot(disk);
        var first = disk.Fingerprint();
        var again = disk.Run();
        Assert.True(again.ExitCode == 0, again.Out + again.Error);
        Assert.Equal(first, disk.Fingerprint());
    }

    /// <summary>GPT with root-b in the image: root-b is kept where it is, data follows it, the backup GPT moves to the end.</summary>
    [Fact]
    public void Gpt_WithRootBInTheImage_KeepsIt()
    {
        TestDisk.RequireLoop();
        using var disk = TestDisk.Create(DiskKind.GptWithRootB, diskBytes: 2L << 30);
        var before = Partitions(disk);
        Assert.Equal(3, before.Count);
        var r = disk.Run();
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Contains("No problems found", ProcessRunner.Run("sgdisk", ["-v", disk.Device]).Out);
        var after = Partitions(disk);
        Assert.Equal(4, after.Count);
        for (int i = 0; i < 3; i++) Assert.Equal(before[i]!.ToJsonString(), after[i]!.ToJsonString());
        Assert.Equal("data", after[3]!["name"]!.GetValue<string>());
        Assert.Equal((2L << 30) / 512 - 34, after[3]!["start"]!.GetValue<long>() + after[3]!["size"]!.GetValue<long>() - 1);
    }
}
