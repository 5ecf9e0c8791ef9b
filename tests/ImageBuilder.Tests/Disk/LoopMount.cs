// Attaches an image to a loop device and mounts it read-only; detaches and unmounts on dispose, even after a failure.
namespace Appliance.ImageBuilder.Tests.Disk;

/// <summary>A read-only kernel mount of an image file (or of one of its partitions).</summary>
public sealed class LoopMount : IDisposable
{
    private readonly string _loop;
    private readonly string _mountPoint;
    private bool _mounted;

    private LoopMount(string loop, string mountPoint) { _loop = loop; _mountPoint = mountPoint; }

    /// <summary>The loop device (for example /dev/loop3).</summary>
    public string Device => _loop;

    /// <summary>Attaches <paramref name="image"/> (with -P when <paramref name="partitions"/>) and mounts it or its partition.</summary>
    public static LoopMount Mount(string image, string mountPoint, string fsType, bool partitions, int partition = 0)
    {
        var args = new List<string> { "--find", "--show", "--read-only" };
        if (partitions) args.Add("-P");
        args.Add(image);
        var loop = DiskTools.Run("losetup", args).Out.Trim();
        var m = new LoopMount(loop, mountPoint);
        try
        {
            string dev = partition > 0 ? $"{loop}p{partition}" : loop;
            for (int i = 0; i < 50 && !File.Exists(dev); i++) Thread.Sleep(100);
            DiskTools.Run("mount", ["-t", fsType, "-o", "ro", dev, mountPoint]);
            m._mounted = true;
            return m;
        }
        catch
        {
            m.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_mounted) DiskTools.Run("umount", [_mountPoint], check: false);
        DiskTools.Run("losetup", ["-d", _loop], check: false);
    }
}
