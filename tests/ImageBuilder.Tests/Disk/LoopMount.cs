// Attaches an image to a loop device and mounts it read-only; detaches and unmounts on dispose, even after a failure.
namespace Appliance.ImageBuilder.Tests.Disk;

/// <summary>A read-only kernel mount of an image file (or of one of its partitions).</summary>
public sealed class LoopMount : IDisposable
{
    private readonly string _loop;
    private readonly string _mountPoint;
    private bool _mounted;
    private string? _madeNode;
    private bool _partx;

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
            if (partition > 0)
            {
                // The kernel scanned the table (-P); without udev the /dev node may be missing, so make it from sysfs.
                string sys = $"/sys/class/block/{Path.GetFileName(dev)}/dev";
                for (int i = 0; i < 20 && !File.Exists(dev) && !File.Exists(sys); i++) Thread.Sleep(100);
                if (!File.Exists(sys))
                {
                    // Kernels built without CONFIG_EFI_PARTITION / CONFIG_MSDOS_PARTITION (like this CI VM's) do not scan
                    // the table themselves; partx reads it with libblkid and adds the partitions through BLKPG.
                    DiskTools.Run("partx", ["-a", loop], check: false);
                    m._partx = true;
                }
                if (!File.Exists(sys)) Assert.Fail($"neither the kernel nor partx found partition {partition} on {loop}");
                for (int i = 0; i < 10 && !File.Exists(dev); i++) Thread.Sleep(100);
                if (!File.Exists(dev))
                {
                    var mm = File.ReadAllText(sys).Trim().Split(':');
                    DiskTools.Run("mknod", [dev, "b", mm[0], mm[1]]);
                    m._madeNode = dev;
                }
            }
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
        if (_partx) DiskTools.Run("partx", ["-d", _loop], check: false);
        DiskTools.Run("losetup", ["-d", _loop], check: false);
        if (_madeNode != null) File.Delete(_madeNode);
    }
}
