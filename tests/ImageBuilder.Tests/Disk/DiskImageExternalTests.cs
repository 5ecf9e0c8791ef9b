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

    /// <summary>The build's shape: boot + root-a with a fixed slot size, the image ending after root-a.</summary>
    private static DiskImagePlan Plan(PartitionTableKind table) =>
        DiskImagePlan.BootAndRoot(FatExternalTests.SampleTree(), 64L << 20, RootTree(), table, slotSize: 128L << 20);

    private const long RootAEnd = (1L << 20) + (64L << 20) + (128L << 20);

    /// <summary>GPT: the image ends with the backup GPT right after root-a; sgdisk finds no problem; sfdisk shows the plan.</summary>
    [Fact]
    public void GptPassesSgdiskAndSfdiskShowsExactlyThePlan()
    {
        DiskTools.Require("sgdisk", "sfdisk");
        using var dir = new TempDir();
        var result = DiskImageBuilder.Build(Plan(PartitionTableKind.Gpt), dir["disk.img"]);
        Assert.Equal(RootAEnd + 33 * 512, result.Size);
        Assert.Equal(result.Size, new FileInfo(dir["disk.img"]).Length);
        var verify = DiskTools.Run("sgdisk", ["-v", dir["disk.img"]]);
        Assert.Contains("No problems found", verify.Out);

        using var json = JsonDocument.Parse(DiskTools.Run("sfdisk", ["--json", dir["disk.img"]]).Out);
        var pt = json.RootElement.GetProperty("partitiontable");
        Assert.Equal("gpt", pt.GetProperty("label").GetString());
        Assert.Equal(result.DiskGuid!.Value.ToString().ToUpperInvariant(), pt.GetProperty("id").GetString());
        Assert.Equal(34, pt.GetProperty("firstlba").GetInt64());
        // The last usable LBA is the last sector of root-a: the table describes the small image as it is.
        Assert.Equal(RootAEnd / 512 - 1, pt.GetProperty("lastlba").GetInt64());
        var parts = pt.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(2, parts.Count);
        string[] names = ["boot", "root-a"];
        string[] types = ["C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "0FC63DAF-8483-4772-8E79-3D69D8477DE4"];
        for (int i = 0; i < 2; i++)
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
        Assert.Equal(128L << 20, result["root-a"].Size);
        Assert.Equal(64L << 20, result["boot"].Size);
    }

    /// <summary>
    /// MBR: the image ends exactly where root-a ends; sfdisk verifies the table and shows the plan. (sgdisk -v reads
    /// an MBR as a GPT to convert to, and a last partition that ends at the disk's end leaves that GPT no room for its
    /// backup, which says nothing about the MBR itself.)
    /// </summary>
    [Fact]
    public void MbrPassesSfdiskVerifyAndShowsExactlyThePlan()
    {
        DiskTools.Require("sfdisk");
        using var dir = new TempDir();
        var result = DiskImageBuilder.Build(Plan(PartitionTableKind.Mbr), dir["disk.img"]);
        Assert.Equal(RootAEnd, result.Size);
        Assert.Equal(RootAEnd, new FileInfo(dir["disk.img"]).Length);
        var verify = DiskTools.Run("sfdisk", ["--verify", dir["disk.img"]]);
        Assert.Contains("No errors detected", verify.Out);

        using var json = JsonDocument.Parse(DiskTools.Run("sfdisk", ["--json", dir["disk.img"]]).Out);
        var pt = json.RootElement.GetProperty("partitiontable");
        Assert.Equal("dos", pt.GetProperty("label").GetString());
        Assert.Equal($"0x{result.MbrDiskSignature:x8}", pt.GetProperty("id").GetString());
        var parts = pt.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(2, parts.Count);
        string[] types = ["c", "83"];
        for (int i = 0; i < 2; i++)
        {
            var p = parts[i];
            var want = result.Partitions[i];
            Assert.Equal(want.Offset / 512, p.GetProperty("start").GetInt64());
            Assert.Equal(want.Size / 512, p.GetProperty("size").GetInt64());
            Assert.Equal(types[i], p.GetProperty("type").GetString());
            // The boot partition is the active one, as appliance build has always marked it; the root slot is not.
            Assert.Equal(i == 0, p.TryGetProperty("bootable", out var b) && b.GetBoolean());
        }
    }

    /// <summary>
    /// The image written to a larger disk, as a device gets it: the backup GPT is not at the disk's end, which sgdisk
    /// reports and the Linux kernel tolerates (with a warning). Moving the backup to the end (what firstboot does,
    /// here with <c>sgdisk -e</c>) makes the table clean, and root-b (root-a's size) and a data partition to the end
    /// of the disk then fit after root-a, with boot and root-a untouched.
    /// </summary>
    [Fact]
    public void GptImageOnALargerDisk_IsReadable_AndGrowsIntoFirstbootsLayout()
    {
        DiskTools.Require("sgdisk", "sfdisk");
        using var dir = new TempDir();
        var result = DiskImageBuilder.Build(Plan(PartitionTableKind.Gpt), dir["disk.img"]);
        long disk = 1L << 30;
        using (var f = File.OpenWrite(dir["disk.img"])) f.SetLength(disk);

        var before = DiskTools.Run("sgdisk", ["-v", dir["disk.img"]], check: false).Out;
        Assert.Contains("secondary header", before, StringComparison.OrdinalIgnoreCase);
        using (var json = JsonDocument.Parse(DiskTools.Run("sfdisk", ["--json", dir["disk.img"]]).Out))
            Assert.Equal(["boot", "root-a"], json.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("name").GetString()));

        DiskTools.Run("sgdisk", ["-e", dir["disk.img"]]);
        long slot = result["root-a"].Size / 512;
        DiskTools.Run("sgdisk", ["-n", $"3:0:+{slot}", "-t", "3:8300", "-c", "3:root-b", "-n", "4:0:0", "-t", "4:8300", "-c", "4:data", dir["disk.img"]]);
        Assert.Contains("No problems found", DiskTools.Run("sgdisk", ["-v", dir["disk.img"]]).Out);

        using var after = JsonDocument.Parse(DiskTools.Run("sfdisk", ["--json", dir["disk.img"]]).Out);
        var pt = after.RootElement.GetProperty("partitiontable");
        Assert.Equal(disk / 512 - 34, pt.GetProperty("lastlba").GetInt64());
        var parts = pt.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(["boot", "root-a", "root-b", "data"], parts.Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(result["root-a"].Offset / 512, parts[1].GetProperty("start").GetInt64());
        Assert.Equal(RootAEnd / 512, parts[2].GetProperty("start").GetInt64());
        Assert.Equal(slot, parts[2].GetProperty("size").GetInt64());
        Assert.Equal(disk / 512 - 34, parts[3].GetProperty("start").GetInt64() + parts[3].GetProperty("size").GetInt64() - 1);
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
            Assert.Equal(["boot", "root-a"], t.Partitions.Select(p => p.Name));
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
            Assert.Equal([MbrPartition.Fat32Lba, MbrPartition.Linux], m.Partitions.Select(p => p.Type));
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
        var plan = DiskImagePlan.BootAndRoot(FatExternalTests.SampleTree(), 64L << 20, root, PartitionTableKind.Gpt);
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
