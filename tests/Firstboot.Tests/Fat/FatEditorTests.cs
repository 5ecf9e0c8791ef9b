// FatEditor against volumes the image builder's FatBuilder writes, read back with FatReader and checked by fsck.fat.
using Appliance.Firstboot.Fat;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.Firstboot.Tests.Fat;

/// <summary>Truncate (wiping and freeing) and rename on a real FAT32 volume in a file.</summary>
[Trait("Category", "RoundTrip")]
public sealed class FatEditorTests
{
    private const long VolumeBytes = 64L << 20;

    private static string Volume(TempDir dir, byte[] secretFile)
    {
        var tree = new FileTree(1700000000);
        tree.AddFile("appliance/site.yaml", secretFile);
        tree.AddFile("loader/entries/appliance-a+3.conf", "title A\n"u8.ToArray());
        tree.AddFile("keep.txt", "unrelated\n"u8.ToArray());
        var path = dir["boot.fat"];
        new FatBuilder(tree, VolumeBytes, new FatOptions { VolumeLabel = "BOOT", SectorsPerCluster = 1 }).Build(path, durable: false);
        return path;
    }

    private static byte[] ReadBack(string volume, string path)
    {
        using var f = File.OpenRead(volume);
        var node = new FatReader(f).ReadTree().Find(path) ?? throw new FileNotFoundException(path);
        using var s = node.Content!.OpenRead();
        var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>
    /// A file of several clusters cut to 10 bytes: the reader sees those 10, the secret bytes are nowhere in the volume
    /// (slack and freed clusters zeroed), the other files are intact, and fsck.fat finds nothing wrong.
    /// </summary>
    [Fact]
    public void Truncate_WipesEverythingPastTheCut_AndFreesTheClusters()
    {
        using var dir = new TempDir("fat-editor-");
        var content = "profile: 1\n"u8.ToArray().Concat(Enumerable.Repeat((byte)'S', 3000)).ToArray();
        var volume = Volume(dir, content);
        Assert.True(File.ReadAllBytes(volume).AsSpan().IndexOf("SSSSSSSS"u8) >= 0);
        var steps = new List<string>();
        using (var fat = FatEditor.Open(volume, writable: true)) fat.Truncate("appliance/site.yaml", 11, steps.Add);
        Assert.Equal(["size-cut", "wiped"], steps);
        Assert.Equal("profile: 1\n"u8.ToArray(), ReadBack(volume, "appliance/site.yaml"));
        Assert.Equal("unrelated\n"u8.ToArray(), ReadBack(volume, "keep.txt"));
        Assert.Equal(-1, File.ReadAllBytes(volume).AsSpan().IndexOf("SS"u8));
        if (ProcessRunner.Run("sh", ["-c", "command -v fsck.fat"]).ExitCode != 0) Assert.Skip("fsck.fat is not installed");
        var fsck = ProcessRunner.Run("fsck.fat", ["-n", volume]);
        Assert.True(fsck.ExitCode == 0, fsck.Out + fsck.Error);
    }

    /// <summary>Cutting again to the same length (a rerun after a power cut) changes nothing and still succeeds.</summary>
    [Fact]
    public void Truncate_Repeated_IsIdempotent()
    {
        using var dir = new TempDir("fat-editor-");
        var volume = Volume(dir, "abc\n---\nsecret: 1\n"u8.ToArray());
        using (var fat = FatEditor.Open(volume, writable: true)) fat.Truncate("appliance/site.yaml", 4);
        var once = File.ReadAllBytes(volume);
        using (var fat = FatEditor.Open(volume, writable: true)) fat.Truncate("appliance/site.yaml", 4);
        Assert.Equal(once, File.ReadAllBytes(volume));
        Assert.Equal("abc\n"u8.ToArray(), ReadBack(volume, "appliance/site.yaml"));
    }

    /// <summary>Renaming drops the boot counter; the reader and mtools list the new name, the content follows it.</summary>
    [Fact]
    public void Rename_DropsTheCounter_AndKeepsTheContent()
    {
        using var dir = new TempDir("fat-editor-");
        var volume = Volume(dir, "x\n"u8.ToArray());
        using (var fat = FatEditor.Open(volume, writable: true))
        {
            fat.Rename("loader/entries/appliance-a+3.conf", "appliance-a.conf");
            Assert.Equal(["appliance-a.conf"], fat.List("loader/entries"));
            Assert.Throws<IOException>(() => fat.Rename("keep.txt", "a-name-much-longer-than-the-one-it-had-before.txt"));
        }
        Assert.Equal("title A\n"u8.ToArray(), ReadBack(volume, "loader/entries/appliance-a.conf"));
        if (ProcessRunner.Run("sh", ["-c", "command -v mdir"]).ExitCode != 0) Assert.Skip("mtools is not installed");
        Assert.Contains("appliance-a.conf", ProcessRunner.Run("mdir", ["-b", "-i", volume, "::loader/entries"]).Ok().Out);
        var fsck = ProcessRunner.Run("fsck.fat", ["-n", volume]);
        Assert.True(fsck.ExitCode == 0, fsck.Out + fsck.Error);
    }
}
