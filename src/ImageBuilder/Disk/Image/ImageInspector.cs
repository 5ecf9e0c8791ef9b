// Recognises what an image file holds (GPT or MBR disk, SquashFS, FAT32, cpio) and summarises it with our readers.
using System.Text;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Cpio;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.Common.Disk.Gpt;
using Appliance.Common.Disk.Mbr;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>A file system found in an image (or one of its partitions).</summary>
public sealed record FileSystemReport(string Type, long Entries, long Files, long FileBytes, IReadOnlyDictionary<string, string> Details);

/// <summary>One partition of a disk image.</summary>
public sealed record PartitionReport(int Number, string Name, string Type, long Offset, long Size, string? Id, FileSystemReport? FileSystem);

/// <summary>What an image holds.</summary>
public sealed record ImageReport(string Kind, long Size, string? DiskId, IReadOnlyList<PartitionReport> Partitions, FileSystemReport? FileSystem);

/// <summary>Inspects images written by the Disk writers (and anything else in the same formats).</summary>
public static class ImageInspector
{
    /// <summary>Describes the image in <paramref name="image"/> (seekable).</summary>
    public static ImageReport Inspect(Stream image)
    {
        var head = new byte[1024];
        image.Position = 0;
        int n = image.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 520 && Encoding.ASCII.GetString(head, 512, 8) == "EFI PART")
        {
            var gpt = GptTable.Read(image);
            var parts = gpt.Partitions.Select((p, i) => new PartitionReport(i + 1, p.Name, TypeName(p.Type), p.FirstLba * 512, p.SizeBytes,
                p.Id.ToString(), Probe(new OffsetStream(image, p.FirstLba * 512, p.SizeBytes)))).ToList();
            return new ImageReport("gpt", image.Length, gpt.DiskGuid.ToString(), parts, null);
        }
        var fs = Probe(image);
        if (fs != null) return new ImageReport(fs.Type, image.Length, null, [], fs);
        if (n >= 512 && head[510] == 0x55 && head[511] == 0xAA)
        {
            var mbr = MasterBootRecord.Read(head);
            var parts = mbr.Partitions.Select((p, i) => new PartitionReport(i + 1, "", $"0x{p.Type:x2}", (long)p.FirstLba * 512, (long)p.SectorCount * 512,
                null, Probe(new OffsetStream(image, (long)p.FirstLba * 512, (long)p.SectorCount * 512)))).ToList();
            return new ImageReport("mbr", image.Length, $"0x{mbr.DiskSignature:x8}", parts, null);
        }
        throw new InvalidDataException("not a GPT or MBR disk, SquashFS, FAT32 or cpio newc image (no known signature at byte 0 or 512)");
    }

    /// <summary>Reads the file tree of the image, or of partition <paramref name="partition"/> (1-based) of a disk image.</summary>
    public static FileTree ReadTree(Stream image, int? partition = null)
    {
        var report = Inspect(image);
        Stream target = image;
        if (report.Partitions.Count > 0)
        {
            if (partition is null) throw new InvalidDataException($"{report.Kind} disk image: choose a partition (1-{report.Partitions.Count})");
            var p = report.Partitions.FirstOrDefault(x => x.Number == partition)
                ?? throw new InvalidDataException($"{report.Kind} disk image has no partition {partition} (it has {report.Partitions.Count})");
            target = new OffsetStream(image, p.Offset, p.Size);
        }
        var kind = (report.Partitions.Count > 0 ? report.Partitions[partition!.Value - 1].FileSystem?.Type : report.FileSystem?.Type)
            ?? throw new InvalidDataException($"partition {partition} holds no file system we can read");
        return kind switch
        {
            "squashfs" => new SquashFsReader(target).ReadTree(),
            "fat32" => new FatReader(target).ReadTree(),
            "cpio" => CpioReader.Read(Rewind(target)),
            _ => throw new InvalidDataException($"cannot list a {kind} image"),
        };
    }

    private static Stream Rewind(Stream s) { s.Position = 0; return s; }

    private static FileSystemReport? Probe(Stream s)
    {
        var head = new byte[512];
        s.Position = 0;
        if (s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < 96) return null;
        if (Encoding.ASCII.GetString(head, 0, 4) == "hsqs")
        {
            var r = new SquashFsReader(s);
            var details = new Dictionary<string, string>
            {
                ["compression"] = r.Compression.ToString().ToLowerInvariant(), ["blockSize"] = r.BlockSize.ToString(),
                ["bytesUsed"] = r.BytesUsed.ToString(), ["inodes"] = r.InodeCount.ToString(), ["modificationTime"] = r.ModificationTime.ToString(),
            };
            return Summarise("squashfs", r.ReadTree(), details);
        }
        if (head[510] == 0x55 && head[511] == 0xAA && Encoding.ASCII.GetString(head, 82, 8) == "FAT32   ")
        {
            var r = new FatReader(s);
            var details = new Dictionary<string, string>
            {
                ["label"] = r.VolumeLabel, ["serial"] = $"{r.VolumeSerial >> 16:X4}-{r.VolumeSerial & 0xFFFF:X4}",
                ["clusterBytes"] = r.ClusterBytes.ToString(), ["clusters"] = r.ClusterCount.ToString(),
            };
            return Summarise("fat32", r.ReadTree(), details);
        }
        if (Encoding.ASCII.GetString(head, 0, 6) == "070701")
            return Summarise("cpio", CpioReader.Read(Rewind(s)), new Dictionary<string, string> { ["format"] = "newc" });
        return null;
    }

    private static FileSystemReport Summarise(string type, FileTree tree, Dictionary<string, string> details)
    {
        long entries = 0, files = 0, bytes = 0;
        foreach (var n in tree.Walk())
        {
            entries++;
            if (n.Type == FileNodeType.File) { files++; bytes += n.Size; }
        }
        return new FileSystemReport(type, entries, files, bytes, details);
    }

    private static string TypeName(Guid type) =>
        type == GptPartitionTypes.EfiSystem ? "efi-system" : type == GptPartitionTypes.LinuxFilesystem ? "linux" :
        type == GptPartitionTypes.MicrosoftBasicData ? "basic-data" : type.ToString();
}
