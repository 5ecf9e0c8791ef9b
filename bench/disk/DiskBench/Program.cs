// Benchmark driver: builds one image from a host directory with our writers and prints the elapsed time.
using System.Diagnostics;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Iso9660;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

// --durable: write as `appliance build` does (around the page cache, fsync before the rename); without it the output is
// left to the kernel's write-back, as mksquashfs and mcopy leave theirs.
bool durable = args.Length > 0 && args[0] == "--durable";
if (durable) args = args[1..];
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: DiskBench [--durable] squashfs <dir> <out> [zstd-level|gzip] [block-size]\n" +
                            "       DiskBench [--durable] fat <dir> <out> <size-MiB>\n" +
                            "       DiskBench [--durable] disk <dir> <out> <disk-size-MiB>   (boot FAT 256 MiB + root-a squashfs of <dir>, holes to <disk-size-MiB>)\n" +
                            "       DiskBench [--durable] iso <dir> <out> [efi-image-path-in-dir [isohdpfx.bin]]   (Rock Ridge, El Torito EFI entry, isohybrid MBR+GPT)");
    return 2;
}
long? epoch = long.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), out var e) ? e : null;
var sw = Stopwatch.StartNew();
// FAT and ISO 9660 store no extended attributes, so those modes do not read them (as mcopy and xorriso -R do not).
var tree = FileTree.FromDirectory(args[1], new FileTreeOptions { SourceDateEpoch = epoch, ReadXattrs = args[0] is not ("fat" or "iso") });
var scanned = sw.Elapsed;
switch (args[0])
{
    case "squashfs":
    {
        var opts = new SquashFsOptions
        {
            Compression = args.Length > 3 && args[3] == "gzip" ? SquashFsCompression.Gzip : SquashFsCompression.Zstd,
            CompressionLevel = args.Length > 3 && int.TryParse(args[3], out var lvl) ? lvl : null,
            BlockSize = args.Length > 4 ? int.Parse(args[4]) : 128 * 1024,
            ModificationTime = epoch,
        };
        long size = new SquashFsBuilder(tree, opts).Build(args[2], durable);
        Console.WriteLine($"squashfs bytes={size} scan={scanned.TotalSeconds:F2}s total={sw.Elapsed.TotalSeconds:F2}s");
        break;
    }
    case "fat":
        new FatBuilder(tree, long.Parse(args[3]) << 20, new FatOptions { VolumeLabel = "BENCH" }).Build(args[2], durable);
        Console.WriteLine($"fat scan={scanned.TotalSeconds:F2}s total={sw.Elapsed.TotalSeconds:F2}s");
        break;
    case "disk":
    {
        var boot = new FileTree(epoch ?? 0);
        boot.AddFile("EFI/BOOT/BOOTX64.EFI", FileContent.FromText("placeholder\n"));
        var plan = DiskImagePlan.BootAndRoot(boot, 256L << 20, tree, PartitionTableKind.Gpt, diskSize: long.Parse(args[3]) << 20);
        var r = DiskImageBuilder.Build(plan, args[2], durable);
        Console.WriteLine($"disk size={r.Size} root-a={r["root-a"].ContentBytes} total={sw.Elapsed.TotalSeconds:F2}s");
        break;
    }
    case "iso":
    {
        var r = IsoWriter.Build(tree, new IsoOptions
        {
            VolumeId = "BENCH", SourceDateEpoch = epoch ?? 0, Durable = durable,
            BootEntries = args.Length > 3 ? [new IsoBootEntry(IsoBootPlatform.Efi, args[3])] : [],
            Hybrid = args.Length > 3 ? new IsoHybrid(args.Length > 4 ? File.ReadAllBytes(args[4])[..432] : null) : null,
        }, args[2]);
        Console.WriteLine($"iso size={r.Size} scan={scanned.TotalSeconds:F2}s total={sw.Elapsed.TotalSeconds:F2}s");
        break;
    }
    default:
        Console.Error.WriteLine($"unknown mode {args[0]}");
        return 2;
}
return 0;
