// Unit tests of the on-disk records and small pure helpers of the disk formats.
using System.Text;
using Appliance.Common;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.Common.Disk.Gpt;
using Appliance.Common.Disk.Mbr;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "Unit")]
public sealed class RecordTests
{
    [Fact]
    public void LongNameChecksumMatchesTheSpecificationAlgorithm()
    {
        // §7.2: rotate right, add the next byte; for "FOO     BAR" the sum is 0x89... computed independently here.
        var name = Encoding.ASCII.GetBytes("FOO     BAR");
        int sum = 0;
        foreach (var c in name) sum = (((sum & 1) << 7) | (sum >> 1)) + c & 0xFF;
        Assert.Equal((byte)sum, ShortEntry.Checksum(name));
    }

    [Fact]
    public void ShortNamesGetTailsAndNeverCollide()
    {
        var g = new ShortNameGenerator();
        Assert.Equal(("README  TXT", false), Text(g.Generate("README.TXT")));
        Assert.Equal(("README  TXT", true), Text(new ShortNameGenerator().Generate("readme.txt")));
        Assert.Equal(("LONGFI~1TXT", true), Text(g.Generate("longfilename.txt")));
        Assert.Equal(("LONGFI~2TXT", true), Text(g.Generate("longfilename2.txt")));
        Assert.Equal(("README~1TXT", true), Text(g.Generate("readme.txt")));
        Assert.Equal(("TARGZ~1 GZ ", true), Text(g.Generate("tar.gz.gz")));
        var many = new ShortNameGenerator();
        var seen = new HashSet<string>();
        for (int i = 0; i < 20_000; i++) Assert.True(seen.Add(Text(many.Generate($"same prefix {i}.data")).Item1));
    }

    private static (string, bool) Text((byte[] Name, bool Long) r) => (Encoding.ASCII.GetString(r.Name), r.Long);

    [Theory]
    [InlineData("a:b")]
    [InlineData("what?")]
    [InlineData("trailing.")]
    [InlineData("tab\there")]
    public void IllegalFatNamesAreNamed(string name) => Assert.NotNull(ShortNameGenerator.IllegalReason(name));

    [Fact]
    public void FatTimestampsClampToTheFatRange()
    {
        Assert.Equal(ShortEntry.Timestamp(315532800), ShortEntry.Timestamp(0)); // before 1980 → 1980-01-01
        var (date, time) = ShortEntry.Timestamp(1_700_000_000); // 2023-11-14 22:13:20 UTC
        Assert.Equal(((2023 - 1980) << 9) | (11 << 5) | 14, date);
        Assert.Equal((22 << 11) | (13 << 5) | 10, time);
    }

    [Fact]
    public void GptTableRoundTripsAndDetectsCorruption()
    {
        var ms = new MemoryStream(new byte[8 << 20]);
        var id = DerivedGuid.Create("seed"u8, "disk");
        var parts = new[] { new GptPartition(GptPartitionTypes.EfiSystem, DerivedGuid.Create("seed"u8, "p1"), 2048, 4095, "boot") };
        new GptTable(ms.Length / 512, id, parts).WriteTo(ms);
        var back = GptTable.Read(ms);
        Assert.Equal(id, back.DiskGuid);
        Assert.Equal(parts, back.Partitions);
        ms.Position = 512 + 40; ms.WriteByte(0xFF); // damage the primary header: the backup is used
        Assert.Equal(parts, GptTable.Read(ms).Partitions);
        ms.Position = ms.Length - 512 + 40; ms.WriteByte(0xFF);
        Assert.Contains("CRC32", Assert.Throws<InvalidDataException>(() => GptTable.Read(ms)).Message);
    }

    [Fact]
    public void DerivedGuidsAreStableVersion8AndDistinct()
    {
        var a = DerivedGuid.Create("x"u8, "disk");
        Assert.Equal(a, DerivedGuid.Create("x"u8, "disk"));
        Assert.NotEqual(a, DerivedGuid.Create("x"u8, "part"));
        Assert.Equal('8', a.ToString()[14]);
    }

    [Fact]
    public void MbrRejectsOverlapAndReadsBack()
    {
        Assert.Throws<ArgumentException>(() => new MasterBootRecord(1, [new MbrPartition(0x83, 2048, 4096), new MbrPartition(0x83, 4000, 10)]));
        var b = new byte[512];
        new MasterBootRecord(0xDEADBEEF, [new MbrPartition(MbrPartition.Fat32Lba, 2048, 4096, true)]).WriteTo(b);
        var m = MasterBootRecord.Read(b);
        Assert.Equal(0xDEADBEEFu, m.DiskSignature);
        Assert.True(m.Partitions[0].Bootable);
    }

    [Fact]
    public void SquashFsDeviceNumbersUseTheKernelEncoding()
    {
        Assert.Equal(0x0103u, Inode.EncodeDevice(1, 3));
        Assert.Equal((240, 300000), Inode.DecodeDevice(Inode.EncodeDevice(240, 300000)));
    }

    [Fact]
    public void TreeOrdersNamesByUtf8Bytes()
    {
        var t = new FileTree();
        foreach (var n in new[] { "b", "B", "ä", "a", "🚀", "\uFFFD" }) t.AddFile(n, FileContent.FromBytes([]));
        var names = t.Root.Children.Select(c => c.Name).ToList();
        var byBytes = names.OrderBy(n => Convert.ToHexString(Encoding.UTF8.GetBytes(n)), StringComparer.Ordinal).ToList();
        Assert.Equal(byBytes, names);
    }

    [Fact]
    public void TreeRejectsDotNamesAndFileParents()
    {
        var t = new FileTree();
        t.AddFile("f", FileContent.FromBytes([]));
        Assert.Throws<ArgumentException>(() => t.AddFile("f/g", FileContent.FromBytes([])));
        Assert.Throws<ArgumentException>(() => t.AddFile("a/../b", FileContent.FromBytes([])));
    }
}
