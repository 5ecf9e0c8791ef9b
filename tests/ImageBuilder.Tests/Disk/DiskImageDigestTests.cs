// The composer's digests (taken from the writes, holes as zeros) against the file it wrote, and the same bytes either way.
using System.Security.Cryptography;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.SquashFs;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "RoundTrip")]
public sealed class DiskImageDigestTests
{
    private static readonly byte[] Seed = SHA256.HashData("digest-test"u8);

    /// <summary>
    /// The build's plan (boot + root-a, the image ending after root-a), or with <paramref name="spare"/> an empty third
    /// partition and a fixed disk size, so holes inside and after the partitions are hashed too.
    /// </summary>
    private static DiskImagePlan Plan(string squashFile, PartitionTableKind table, bool digests, bool spare)
    {
        var plan = DiskImagePlan.BootAndRoot(FatExternalTests.SampleTree(), 64L << 20, new RawPartitionContent(FileContent.FromHostFile(squashFile)),
            slotSize: 32L << 20, table, diskSize: spare ? 200L << 20 : null, Seed, new FatOptions { VolumeLabel = "BOOT" }, digests);
        return spare
            ? new DiskImagePlan { Table = plan.Table, Size = plan.Size, IdentitySeed = plan.IdentitySeed, Digests = plan.Digests, Partitions = [.. plan.Partitions, PartitionSpec.Empty("spare", sameSizeAs: "root-a")] }
            : plan;
    }

    private static byte[] Sha(string path, long offset, long length)
    {
        using var f = File.OpenRead(path);
        f.Position = offset;
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[1 << 20];
        for (long left = length; left > 0;)
        {
            int n = f.Read(buf, 0, (int)Math.Min(buf.Length, left));
            Assert.True(n > 0);
            h.AppendData(buf, 0, n);
            left -= n;
        }
        return h.GetHashAndReset();
    }

    /// <summary>
    /// Tables first and hashed as written gives the same file as tables last; the digests are the file's and each
    /// partition's, and an empty partition gets none.
    /// </summary>
    [Theory]
    [InlineData(PartitionTableKind.Gpt, false)]
    [InlineData(PartitionTableKind.Mbr, false)]
    [InlineData(PartitionTableKind.Gpt, true)]
    [InlineData(PartitionTableKind.Mbr, true)]
    public void Digests_EqualTheFile_AndTheBytesAreTheSame(PartitionTableKind table, bool spare)
    {
        using var dir = new TempDir();
        long squashSize = new SquashFsBuilder(SquashFsExternalTests.SampleTree()).Build(dir["root.sqfs"], durable: false);
        Assert.True(squashSize > 0);
        var hashed = DiskImageBuilder.Build(Plan(dir["root.sqfs"], table, digests: true, spare), dir["hashed.img"]);
        var plain = DiskImageBuilder.Build(Plan(dir["root.sqfs"], table, digests: false, spare), dir["plain.img"]);

        Assert.Equal(File.ReadAllBytes(dir["plain.img"]), File.ReadAllBytes(dir["hashed.img"]));
        Assert.Null(plain.Sha256);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(dir["hashed.img"])), hashed.Sha256);
        foreach (var p in hashed.Partitions)
            if (p.Name == "spare") Assert.Null(p.Sha256);
            else Assert.Equal(Sha(dir["hashed.img"], p.Offset, p.Size), p.Sha256);
        Assert.Equal(plain.Partitions.Select(p => (p.Offset, p.Size, p.ContentBytes)), hashed.Partitions.Select(p => (p.Offset, p.Size, p.ContentBytes)));
    }

    /// <summary>Digests need the tables first: a fitted partition or no identity seed is refused before anything is written.</summary>
    [Fact]
    public void Digests_NeedFixedSizesAndASeed()
    {
        using var dir = new TempDir();
        var fitted = DiskImagePlan.BootAndRoot(FatExternalTests.SampleTree(), 64L << 20, SquashFsExternalTests.SampleTree(), diskSize: 256L << 20, identitySeed: Seed);
        var e = Assert.Throws<ArgumentException>(() => DiskImageBuilder.Build(new DiskImagePlan
        {
            Size = fitted.Size, IdentitySeed = Seed, Digests = true, Partitions = fitted.Partitions,
        }, dir["a.img"]));
        Assert.Contains("'root-a' is sized to fit", e.Message);
        var noSeed = Assert.Throws<ArgumentException>(() => DiskImageBuilder.Build(new DiskImagePlan
        {
            Size = 64L << 20, Digests = true, Partitions = [PartitionSpec.Empty("x", 8L << 20)],
        }, dir["b.img"]));
        Assert.Contains("IdentitySeed", noSeed.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    /// <summary>Content that writes bytes the hasher already took is a bug in that content, and says so.</summary>
    [Fact]
    public void Digests_RefuseARewrite()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidOperationException>(() => DiskImageBuilder.Build(new DiskImagePlan
        {
            Size = 64L << 20, IdentitySeed = Seed, Digests = true,
            Partitions = [new PartitionSpec { Name = "x", Size = 8L << 20, Content = new Rewriter() }],
        }, dir["c.img"]));
        Assert.Contains("only once", e.Message);
    }

    private sealed class Rewriter : IPartitionContent
    {
        public long WriteTo(Stream target, PartitionPlacement placement)
        {
            target.Write(new byte[4096]);
            target.Position = 0;
            target.Write(new byte[] { 1 });
            return 4096;
        }
    }
}
