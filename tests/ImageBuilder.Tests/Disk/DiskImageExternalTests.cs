// Checks whole disk images (GPT and MBR) with sgdisk, sfdisk and the kernel's partition scanner.
using System.Text.Json;
using Appliance.Common.Disk.Gpt;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.Common.Disk.Mbr;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "External")]
public sealed class DiskImageExternalTests
{
    private static FileTree RootTree()
    {
        var t = new FileTree(1_700_000_000);
        t.AddFile("usr/lib/os-release", FileContent.FromText("ID=appliance\n"));
        t.AddFile("usr/bin/tool", FatExternalTests.Bytes(700_000, 3), 0b111_101_101);
        t.AddSymlink("bin", "usr/bin");
        return t;
    }

    private static DiskImagePlan Plan(PartitionTableKind table) =>
        DiskImagePlan.BootAndAbRoot(FatExternalTests.SampleTree(), 64L << 20, RootTree(), table, diskSize: 512L << 20);

    [Fact]
    public void GptPassesSgdiskAndSfdiskShowsExactlyThePlan()
    {
        DiskTools.Require("sgdisk", "sfdisk");
        using var dir = new TempDir();
        var result = DiskImageBuilder.Build(Plan(PartitionTableKind.Gpt), dir["disk.img"]);
        var verify = DiskTools.Run("sgdisk", ["-v", dir["disk.img"]]);
        Assert.Contains("No problems found", verify.Out);

        using var json = JsonDocument.Parse(DiskTools.Run("sfdisk", ["--json", dir["disk.img"]]).Out);
        var pt = json.RootElement.GetProperty("partitiontable");
        Assert.Equal("gpt", pt.GetProperty("label").GetString());
        Assert.Equal(result.DiskGuid!.Value.ToString().ToUpperInvariant(), pt.GetProperty("id").GetString());
        Assert.Equal(34, pt.GetProperty("firstlba").GetInt64());
        Assert.Equal((512L << 20) / 512 - 34, pt.GetProperty("lastlba").GetInt64());
        var parts = pt.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(3, parts.Count);
        string[] names = ["boot", "root-a", "root-b"];
        string[] types = ["C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "0FC63DAF-8483-4772-8E79-3D69D8477DE4"];
        for (int i = 0; i < 3; i++)
        {
            var p = parts[i];
            var want = result.Partitions[i];
            Assert.Equal(dir["disk.img"] + (i + 1), p.GetProperty("node").GetString());
            Assert.Equal(want.Offset / 512, p.GetProperty("start").GetInt64());
            Assert.Equal(want.Size / 512, p.GetProperty("size").GetInt64());
            Assert.Equal(types[i], p.GetProperty("type").GetString());
            Assert.Equal(want.PartitionGuid!.Value.ToString().ToUpperInvariant(), p.GetProperty("uuid").GetString());
            Assert.Equal(names[i], p.GetProperty("name").GetString());
            Assert.Equal(0, want.Offset % (1 << 20));
        }
        Assert.Equal(result["root-a"].Size, result["root-b"].Size);
        Assert.Equal(64L << 20, result["boot"].Size);
        Assert.Equal(3, parts.Count);
    }

    [Fact]
    public void MbrPassesSgdiskAndSfdiskShowsExactlyThePlan()
    {
        DiskTools.Require("sgdisk", "sfdisk");
        using var dir = new TempDir();
        var result = DiskImageBuilder.Build(Plan(PartitionTableKind.Mbr), dir["disk.img"]);
        var verify = DiskTools.Run("sgdisk", ["-v", dir["disk.img"]]);
        Assert.Contains("No problems found", verify.Out);

        using var json = JsonDocument.Parse(DiskTools.Run("sfdisk", ["--json", dir["disk.img"]]).Out);
        var pt = json.RootElement.GetProperty("partitiontable");
        Assert.Equal("dos", pt.GetProperty("label").GetString());
        Assert.Equal($"0x{result.MbrDiskSignature:x8}", pt.GetProperty("id").GetString());
        var parts = pt.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(3, parts.Count);
        string[] types = ["c", "83", "83"];
        for (int i = 0; i < 3; i++)
        {
            var p = parts[i];
            var want = result.Partitions[i];
            Assert.Equal(want.Offset / 512, p.GetProperty("start").GetInt64());
            Assert.Equal(want.Size / 512, p.GetProperty("size").GetInt64());
            Assert.Equal(types[i], p.GetProperty("type").GetString());
            // The boot partition is the active one, as appliance build has always marked it; the root slots are not.
            Assert.Equal(i == 0, p.TryGetProperty("bootable", out var b) && b.GetBoolean());
        }
    }

    [Fact]
    public void OurReadersReadTheTablesBack()
    {
        using var dir = new TempDir();
        var gpt = DiskImageBuilder.Build(Plan(PartitionTableKind.Gpt), dir["gpt.img"]);
        using (var s = File.OpenRead(dir["gpt.img"]))
        {
            var t = GptTable.Read(s);
            Assert.Equal(gpt.DiskGuid, t.DiskGuid);
            Assert.Equal(["boot", "root-a", "root-b"], t.Partitions.Select(p => p.Name));
            Assert.Equal(GptPartitionTypes.EfiSystem, t.Partitions[0].Type);
            Assert.Equal(gpt.Partitions.Select(p => p.Offset / 512), t.Partitions.Select(p => p.FirstLba));
            var mbr = MasterBootRecord.Read(s);
            Assert.Equal(MbrPartition.GptProtective, mbr.Partitions.Single().Type);
        }
        var dos = DiskImageBuilder.Build(Plan(PartitionTableKind.Mbr), dir["mbr.img"]);
        using (var s = File.OpenRead(dir["mbr.img"]))
        {
            var m = MasterBootRecord.Read(s);
            Assert.Equal(dos.MbrDiskSignature, m.DiskSignature);
            Assert.Equal([MbrPartition.Fat32Lba, MbrPartition.Linux, MbrPartition.Linux], m.Partitions.Select(p => p.Type));
        }
    }

    [Fact]
    public void ImageIsSparseAndUnusedSpaceIsNeverWritten()
    {
        DiskTools.Require("du");
        using var dir = new TempDir();
        DiskImageBuilder.Build(Plan(PartitionTableKind.Gpt) is var p ? new DiskImagePlan { Table = p.Table, Partitions = p.Partitions, Size = 4L << 30 } : null!, dir["disk.img"]);
        Assert.Equal(4L << 30, new FileInfo(dir["disk.img"]).Length);
        long kib = long.Parse(DiskTools.Run("du", ["-k", dir["disk.img"]]).Out.Split('\t')[0]);
        Assert.True(kib < 16 * 1024, $"the 4 GiB image allocates {kib} KiB on the host; expected only the few MiB of content");
    }

    [Fact]
    public void KernelFindsThePartitionsAndMountsRootA()
    {
        DiskTools.RequireRootAndLoop();
        DiskTools.RequireKernelFileSystem("squashfs");
        using var dir = new TempDir();
        var root = RootTree();
        var plan = DiskImagePlan.BootAndAbRoot(FatExternalTests.SampleTree(), 64L << 20, root, PartitionTableKind.Gpt, diskSize: 512L << 20);
        DiskImageBuilder.Build(plan, dir["disk.img"]);
        Directory.CreateDirectory(dir["mnt"]);
        using (LoopMount.Mount(dir["disk.img"], dir["mnt"], "squashfs", partitions: true, partition: 2))
        {
            Assert.Equal(DiskTools.FileDigests(root), DiskTools.FileDigests(dir["mnt"]));
            Assert.Equal("usr/bin", new FileInfo(dir["mnt"] + "/bin").LinkTarget);
        }
    }

    [Fact]
    public void ContentThatDoesNotFitIsAClearError()
    {
        using var dir = new TempDir();
        var plan = new DiskImagePlan
        {
            Size = 8L << 20,
            Partitions = [PartitionSpec.SquashFs("root-a", RootTree(), new SquashFsOptions(), size: 1L << 20), PartitionSpec.Empty("x", 16L << 20)],
        };
        var e = Assert.Throws<InvalidDataException>(() => DiskImageBuilder.Build(plan, dir["disk.img"]));
        Assert.Contains("'x'", e.Message);
        Assert.False(File.Exists(dir["disk.img"]));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
