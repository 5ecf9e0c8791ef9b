// The `appliance inspect` verb reads images back with our readers.
using System.Text.Json;
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Tests.Cli;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "RoundTrip")]
public sealed class InspectCommandTests
{
    [Fact]
    public void ShowsPartitionsAndFileSystemsOfADiskImage()
    {
        using var dir = new TempDir();
        // boot + root-a as appliance build makes them, plus an empty partition (as root-b is once firstboot made it).
        var standard = DiskImagePlan.BootAndRoot(FatExternalTests.SampleTree(), 40L << 20, SquashFsExternalTests.SampleTree(), diskSize: 128L << 20);
        var plan = new DiskImagePlan { Size = standard.Size, Partitions = [.. standard.Partitions, PartitionSpec.Empty("root-b", sameSizeAs: "root-a")] };
        DiskImageBuilder.Build(plan, dir["disk.img"]);
        var r = CliRunner.Run("inspect", dir["disk.img"], "--output", "json");
        Assert.Equal(0, r.ExitCode);
        using var json = JsonDocument.Parse(r.Out);
        Assert.Equal("gpt", json.RootElement.GetProperty("kind").GetString());
        var parts = json.RootElement.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(["boot", "root-a", "root-b"], parts.Select(p => p.GetProperty("name").GetString()));
        Assert.Equal("fat32", parts[0].GetProperty("fileSystem").GetProperty("type").GetString());
        Assert.Equal("squashfs", parts[1].GetProperty("fileSystem").GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, parts[2].GetProperty("fileSystem").ValueKind);

        var list = CliRunner.Run("inspect", dir["disk.img"], "--partition", "2", "--list");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("usr/bin/tool-alias -> usr/bin/tool", list.Out);
        Assert.Contains("chardevice", list.Out);
    }

    [Fact]
    public void ListsACpioArchive()
    {
        using var dir = new TempDir();
        var t = new Appliance.ImageBuilder.Disk.Tree.FileTree(1);
        t.AddFile("init", Appliance.ImageBuilder.Disk.Tree.FileContent.FromText("#!/bin/sh\n"), 0b111_101_101);
        using (var f = File.Create(dir["initrd.cpio"])) CpioWriter.Write(t, f);
        var r = CliRunner.Run("inspect", dir["initrd.cpio"], "--list");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("0755 0/0", r.Out);
    }

    [Fact]
    public void UnknownOrMissingFilesAreInputErrors()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["junk"], new byte[4096]);
        var r = CliRunner.Run("inspect", dir["junk"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no known signature", r.Error);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.Equal(2, CliRunner.Run("inspect", dir["missing"]).ExitCode);
    }
}
