// The ISO's install payload: the regions plus root.squashfs rebuild the raw image exactly; deterministic; refusals.
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Build;

[Trait("Category", "RoundTrip")]
public sealed class IsoInstallPayloadTests
{
    private const long Epoch = 1700000000;

    /// <summary>Writes the build's layout (boot 64 MiB + root-a 32 MiB slot, the image ending after root-a) with digests.</summary>
    private static DiskImageResult Image(TempDir dir, PartitionTableKind table, string name = "site.img")
    {
        if (!File.Exists(dir["root.sqfs"])) new SquashFsBuilder(SquashFsExternalTests.SampleTree()).Build(dir["root.sqfs"], durable: false);
        var plan = DiskImagePlan.BootAndRoot(FatExternalTests.SampleTree(), 64L << 20, new RawPartitionContent(FileContent.FromHostFile(dir["root.sqfs"])),
            slotSize: 32L << 20, table, diskSize: null, SHA256.HashData("payload-test"u8), new FatOptions { VolumeLabel = "BOOT" }, digests: true);
        return DiskImageBuilder.Build(plan, dir[name]);
    }

    private static FileTree IsoTree(TempDir dir)
    {
        var tree = new FileTree(Epoch);
        tree.AddFile(IsoInstallPayload.RootPath, FileContent.FromHostFile(dir["root.sqfs"]));
        return tree;
    }

    private static byte[] Read(FileTree tree, string path)
    {
        using var s = tree.Find(path)!.Content!.OpenRead();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>
    /// Zeros, then every region at its offset and root.squashfs at root-a's: the raw image's bytes. Regions are sorted,
    /// apart, inside one area each (the table before the first partition, so it can be written last), their digests
    /// right; root-a's entry carries the partition's digest.
    /// </summary>
    [Theory]
    [InlineData(PartitionTableKind.Gpt)]
    [InlineData(PartitionTableKind.Mbr)]
    public void RegionsAndRoot_RebuildTheRawImage(PartitionTableKind table)
    {
        using var dir = new TempDir();
        var raw = Image(dir, table);
        var tree = IsoTree(dir);
        var payload = IsoInstallPayload.AddTo(tree, dir["site.img"], raw, 8L << 30, Epoch, manifestPath: null);

        var rebuilt = new byte[raw.Size];
        var layout = JsonNode.Parse(Read(tree, IsoInstallPayload.LayoutPath))!;
        Assert.Equal(payload.LayoutJson, Read(tree, IsoInstallPayload.LayoutPath));
        Assert.Equal(raw.Size, layout["imageSize"]!.GetValue<long>());
        Assert.Equal(8L << 30, layout["minimumDiskSize"]!.GetValue<long>());
        long at = 0;
        foreach (var r in layout["regions"]!.AsArray())
        {
            var bytes = Read(tree, r!["file"]!.GetValue<string>());
            long offset = r["offset"]!.GetValue<long>();
            Assert.True(offset >= at);
            Assert.Equal(r["length"]!.GetValue<long>(), bytes.Length);
            Assert.Equal(r["sha256"]!.GetValue<string>(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
            Assert.True(bytes.AsSpan().IndexOfAnyExcept((byte)0) >= 0, "a region of zeros only");
            var area = r["name"]!.GetValue<string>();
            if (area == "table") Assert.True(offset + bytes.Length <= raw["boot"].Offset);
            else if (area != "backup") Assert.True(offset >= raw[area].Offset && offset + bytes.Length <= raw[area].Offset + raw[area].Size);
            bytes.CopyTo(rebuilt, offset);
            at = offset + bytes.Length;
        }
        Assert.Equal("table", layout["regions"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(table == PartitionTableKind.Gpt, layout["regions"]!.AsArray().Any(r => r!["name"]!.GetValue<string>() == "backup"));
        var root = layout["rootA"]!;
        Assert.Equal(IsoInstallPayload.RootPath, root["file"]!.GetValue<string>());
        Assert.Equal(Convert.ToHexStringLower(raw["root-a"].Sha256!), root["sha256"]!.GetValue<string>());
        Assert.Equal(raw["root-a"].Size, root["length"]!.GetValue<long>());
        File.ReadAllBytes(dir["root.sqfs"]).CopyTo(rebuilt, root["offset"]!.GetValue<long>());
        Assert.Equal(File.ReadAllBytes(dir["site.img"]), rebuilt);
        Assert.Equal(Convert.ToHexStringLower(raw.Sha256!), Convert.ToHexStringLower(SHA256.HashData(rebuilt)));
        // The boot partition is mostly free space: the payload carries far less than the image.
        Assert.True(payload.Regions.Sum(r => r.Length) < raw["boot"].Size / 4, $"{payload.Regions.Sum(r => r.Length)} bytes in regions");
    }

    /// <summary>Two images from the same inputs give the same payload: the same layout.json and region bytes.</summary>
    [Fact]
    public void SameImage_SamePayload()
    {
        using var dir = new TempDir();
        var a = Image(dir, PartitionTableKind.Gpt, "a.img");
        var b = Image(dir, PartitionTableKind.Gpt, "b.img");
        var ta = IsoTree(dir);
        var tb = IsoTree(dir);
        var pa = IsoInstallPayload.AddTo(ta, dir["a.img"], a, 1L << 30, Epoch);
        var pb = IsoInstallPayload.AddTo(tb, dir["b.img"], b, 1L << 30, Epoch);
        Assert.Equal(pa.LayoutJson, pb.LayoutJson);
        foreach (var r in pa.Regions) Assert.Equal(Read(ta, r.File), Read(tb, r.File));
    }

    /// <summary>The tree must carry root.squashfs, of root-a's length, and the manifest it names; the image must have digests.</summary>
    [Fact]
    public void Refuses_AMissingOrWrongRoot_AMissingManifest_AndNoDigests()
    {
        using var dir = new TempDir();
        var raw = Image(dir, PartitionTableKind.Gpt);
        var e = Assert.Throws<ArgumentException>(() => IsoInstallPayload.AddTo(new FileTree(Epoch), dir["site.img"], raw, 1L << 30, Epoch));
        Assert.StartsWith("the ISO tree has no appliance/root.squashfs: add root-a's SquashFS first", e.Message);
        var shorter = new FileTree(Epoch);
        shorter.AddFile(IsoInstallPayload.RootPath, new byte[10]);
        var d = Assert.Throws<InvalidDataException>(() => IsoInstallPayload.AddTo(shorter, dir["site.img"], raw, 1L << 30, Epoch));
        Assert.Equal($"appliance/root.squashfs in the ISO tree is 10 bytes; root-a's SquashFS in {dir["site.img"]} is {raw["root-a"].ContentBytes}", d.Message);
        var m = Assert.Throws<ArgumentException>(() => IsoInstallPayload.AddTo(IsoTree(dir), dir["site.img"], raw, 1L << 30, Epoch, "appliance/boot/x.manifest.json"));
        Assert.StartsWith("the ISO tree has no appliance/boot/x.manifest.json", m.Message);
        var undigested = raw with { Partitions = raw.Partitions.Select(p => p with { Sha256 = null }).ToList() };
        var u = Assert.Throws<ArgumentException>(() => IsoInstallPayload.AddTo(IsoTree(dir), dir["site.img"], undigested, 1L << 30, Epoch));
        Assert.StartsWith("the raw image was written without digests", u.Message);
    }
}
