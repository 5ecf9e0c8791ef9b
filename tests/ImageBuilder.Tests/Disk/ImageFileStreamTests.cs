// The chunked image writer against an in-memory reference: random writes, overwrites, zeros, length changes, holes.
using Appliance.ImageBuilder.Disk.Common;

namespace Appliance.ImageBuilder.Tests.Disk;

[Trait("Category", "Unit")]
public sealed class ImageFileStreamTests
{
    public static TheoryData<bool, int> Cases() => new() { { true, 1 }, { true, 2 }, { true, 3 }, { false, 1 }, { false, 2 } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomWritesReadBackLikeAMemoryStream(bool direct, int seed)
    {
        using var dir = new TempDir("imagefile-");
        string path = dir["out.img"];
        File.WriteAllBytes(path, []);
        var rng = new Random(seed);
        var reference = new MemoryStream();
        using (var s = new ImageFileStream(path, direct))
        {
            for (int op = 0; op < 400; op++)
            {
                int kind = rng.Next(20);
                if (kind == 0)
                {
                    long len = rng.NextInt64(0, 6L << 20);
                    s.SetLength(len);
                    reference.SetLength(len);
                    continue;
                }
                // Mostly forward, as the builders write; sometimes back over earlier data, sometimes far ahead.
                long at = kind switch
                {
                    < 12 => s.Position + rng.Next(0, 9000),
                    < 17 => rng.NextInt64(0, Math.Max(1, s.Length)),
                    _ => rng.NextInt64(0, 12L << 20),
                };
                var data = new byte[rng.Next(1, kind == 1 ? 3 << 20 : 70_000)];
                if (rng.Next(4) != 0) rng.NextBytes(data); // else zeros, possibly over earlier data
                s.Position = at;
                reference.Position = at;
                if (rng.Next(2) == 0) s.Write(data);
                else
                {
                    // The fill-in-place path the FAT writer uses.
                    for (int done = 0; done < data.Length;)
                    {
                        var span = s.GetSpan(data.Length - done);
                        data.AsSpan(done, span.Length).CopyTo(span);
                        s.Advance(span.Length);
                        done += span.Length;
                    }
                }
                reference.Write(data);
                Assert.Equal(reference.Length, s.Length);
            }
            s.Flush();
        }
        var actual = File.ReadAllBytes(path);
        Assert.Equal(reference.Length, actual.Length);
        Assert.True(reference.ToArray().AsSpan().SequenceEqual(actual), "the file differs from the reference");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ZeroBlocksStayHolesAndTheLengthIsExact(bool direct)
    {
        using var dir = new TempDir("imagefile-");
        string path = dir["sparse.img"];
        File.WriteAllBytes(path, []);
        using (var s = new ImageFileStream(path, direct))
        {
            s.Write(new byte[16 << 20]);              // 16 MiB of zeros: nothing written
            s.Position = 5 << 20;
            s.Write(new byte[] { 1, 2, 3 });          // one block
            s.Position = (20 << 20) + 1;
            s.Write(new byte[] { 9 });                // one more, past the zeros
            s.SetLength((24 << 20) + 5);              // an unaligned end
            s.Flush();
        }
        var info = new FileInfo(path);
        Assert.Equal((24L << 20) + 5, info.Length);
        var blocks = long.Parse(DiskTools.Run("stat", ["-c", "%b", path]).Out.Trim()); // 512-byte units
        Assert.True(blocks * 512 <= 64 * 1024, $"the file takes {blocks * 512} bytes on disk; only two 4 KiB blocks hold data");
        using var f = File.OpenRead(path);
        var b = new byte[4];
        f.Position = 5 << 20; f.ReadExactly(b);
        Assert.Equal(new byte[] { 1, 2, 3, 0 }, b);
        f.Position = 20 << 20; f.ReadExactly(b);
        Assert.Equal(new byte[] { 0, 9, 0, 0 }, b);
    }

    [Fact]
    public void AFailedWriteIsReportedAtFlush()
    {
        using var dir = new TempDir("imagefile-");
        string path = dir["ro.img"];
        File.WriteAllBytes(path, []);
        var s = new ImageFileStream(path, direct: false);
        try
        {
            // A position past the largest file ext4/tmpfs allow makes the background write fail.
            s.Position = long.MaxValue / 2;
            s.Write(new byte[] { 1 });
            var e = Assert.ThrowsAny<IOException>(() => s.Flush());
            Assert.Contains(path, e.Message);
        }
        finally
        {
            s.Dispose();
        }
    }
}
