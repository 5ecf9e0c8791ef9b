// Block devices as Linux shows them in /sys/class/block: sizes, partitions and their disk, device nodes, mounts.
using System.Runtime.InteropServices;
using Appliance.Common.Disk.Fat;

namespace Appliance.Firstboot.Disks;

/// <summary>Finds and inspects block devices through sysfs and procfs.</summary>
public static class BlockDevices
{
    private const string SysBlock = "/sys/class/block";

    /// <summary>The kernel name of a device node (<c>/dev/loop3p1</c> → <c>loop3p1</c>), symlinks resolved.</summary>
    public static string KernelName(string device)
    {
        var info = new FileInfo(device);
        var target = info.LinkTarget is null ? device : info.ResolveLinkTarget(true)!.FullName;
        return Path.GetFileName(target);
    }

    /// <summary>The size in bytes: from sysfs for a block device, the length for a regular file.</summary>
    public static long SizeBytes(string device)
    {
        var sys = Path.Combine(SysBlock, KernelName(device), "size");
        if (IsBlockDevice(device) && File.Exists(sys))
            return long.Parse(File.ReadAllText(sys).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
        return new FileInfo(device).Length;
    }

    /// <summary>Whether <paramref name="path"/> is a block device node.</summary>
    public static bool IsBlockDevice(string path) =>
        Path.GetFullPath(path).StartsWith("/dev/", StringComparison.Ordinal) && Directory.Exists(Path.Combine(SysBlock, KernelName(path)));

    /// <summary>The <c>major:minor</c> of a block device, or null.</summary>
    public static string? DeviceNumber(string device)
    {
        var f = Path.Combine(SysBlock, KernelName(device), "dev");
        return File.Exists(f) ? File.ReadAllText(f).Trim() : null;
    }

    /// <summary>The device node of partition <paramref name="number"/> of <paramref name="disk"/> (<c>sda</c>→<c>sda2</c>, <c>loop0</c>→<c>loop0p2</c>).</summary>
    public static string PartitionPath(string disk, int number) =>
        char.IsAsciiDigit(disk[^1]) ? $"{disk}p{number}" : $"{disk}{number}";

    /// <summary>The disk a partition device belongs to (<c>/dev/mmcblk0p1</c> → <c>/dev/mmcblk0</c>), or null when it is not a partition.</summary>
    public static string? ParentDisk(string partition)
    {
        var sys = new DirectoryInfo(Path.Combine(SysBlock, KernelName(partition)));
        if (!File.Exists(Path.Combine(sys.FullName, "partition"))) return null;
        var real = sys.ResolveLinkTarget(true)?.FullName ?? sys.FullName;
        return "/dev/" + Path.GetFileName(Path.GetDirectoryName(real)!);
    }

    /// <summary>The partition devices the kernel knows, in name order.</summary>
    public static IEnumerable<string> Partitions() =>
        Directory.Exists(SysBlock)
            ? Directory.EnumerateDirectories(SysBlock).Where(d => File.Exists(Path.Combine(d, "partition")))
                .Select(d => "/dev/" + Path.GetFileName(d)).Order(StringComparer.Ordinal)
            : [];

    /// <summary>The first partition holding a FAT32 volume labelled <paramref name="label"/>, or null.</summary>
    public static string? FindFatByLabel(string label)
    {
        foreach (var p in Partitions())
        {
            try
            {
                using var f = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
                if (BootSector.Read(f).VolumeLabel == label) return p;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException) { }
        }
        return null;
    }

    /// <summary>
    /// Tells the kernel about partition <paramref name="number"/> of <paramref name="disk"/> (BLKPG, which works while
    /// other partitions of the disk are mounted, unlike re-reading the whole table), then waits for its device node.
    /// A partition the kernel already knows at that place is left alone.
    /// </summary>
    public static string AddPartition(string disk, int number, long startBytes, long lengthBytes)
    {
        var node = PartitionPath(disk, number);
        var sys = Path.Combine(SysBlock, KernelName(disk), Path.GetFileName(node));
        if (Directory.Exists(sys))
        {
            long start = long.Parse(File.ReadAllText(Path.Combine(sys, "start")).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
            long size = long.Parse(File.ReadAllText(Path.Combine(sys, "size")).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
            if (start != startBytes)
                throw new IOException($"{node}: the kernel has partition {number} at byte {start}, the table at {startBytes}; reboot to re-read the table");
            if (size != lengthBytes) Blkpg(disk, BlkpgResize, number, startBytes, lengthBytes);
        }
        else Blkpg(disk, BlkpgAdd, number, startBytes, lengthBytes);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(node))
        {
            if (DateTime.UtcNow > deadline) throw new IOException($"{node}: the kernel added partition {number} but no device node appeared in 30 s");
            Thread.Sleep(50);
        }
        return node;
    }

    private const int BlkpgAdd = 1, BlkpgResize = 3;
    private const uint BlkpgIoctl = 0x1269, BlkFlsBuf = 0x1261, BlkZeroOut = 0x127F;
    private const int PosixFadvDontNeed = 4;

    [DllImport("libc", SetLastError = true)]
    private static extern int ioctl(IntPtr fd, nuint request, IntPtr arg);

    [DllImport("libc", SetLastError = true)]
    private static extern int posix_fadvise(IntPtr fd, long offset, long length, int advice);

    /// <summary>
    /// Makes bytes [<paramref name="offset"/>, +<paramref name="length"/>) of a block device read as zeros (BLKZEROOUT:
    /// the device's write-zeroes when it has one, else the kernel writes zero pages). Both must be multiples of 512.
    /// False when <paramref name="handle"/> is not a block device (the caller writes zeros itself).
    /// </summary>
    public static bool ZeroOut(SafeHandle handle, long offset, long length)
    {
        var range = Marshal.AllocHGlobal(16);
        try
        {
            Marshal.WriteInt64(range, 0, offset);
            Marshal.WriteInt64(range, 8, length);
            if (ioctl(handle.DangerousGetHandle(), BlkZeroOut, range) == 0) return true;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == 25) return false; // ENOTTY: not a block device
            throw new IOException($"zeroing {length} bytes at {offset} failed (BLKZEROOUT): {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            Marshal.FreeHGlobal(range);
        }
    }

    /// <summary>
    /// Drops the kernel's cached copy of the device's (or file's) pages, so the next read comes from the medium itself:
    /// BLKFLSBUF for a block device, else POSIX_FADV_DONTNEED. Call after an fsync.
    /// </summary>
    public static void DropCache(SafeHandle handle)
    {
        if (ioctl(handle.DangerousGetHandle(), BlkFlsBuf, IntPtr.Zero) == 0) return;
        if (posix_fadvise(handle.DangerousGetHandle(), 0, 0, PosixFadvDontNeed) != 0)
            throw new IOException($"cannot drop the cached pages to read back what was written: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>A size as messages give it: GiB with up to two decimals from 1 GiB, else MiB.</summary>
    public static string SizeText(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + " GiB"
        : $"{bytes >> 20} MiB";

    /// <summary>The <c>major:minor</c> numbers of <paramref name="disk"/> and of each of its partitions the kernel knows.</summary>
    public static IReadOnlySet<string> DeviceNumbersOfDisk(string disk)
    {
        var numbers = new HashSet<string>(StringComparer.Ordinal);
        var sys = Path.Combine(SysBlock, KernelName(disk));
        if (DeviceNumber(disk) is { } own) numbers.Add(own);
        if (Directory.Exists(sys))
            foreach (var part in Directory.EnumerateDirectories(sys))
                if (File.Exists(Path.Combine(part, "partition")) && File.Exists(Path.Combine(part, "dev")))
                    numbers.Add(File.ReadAllText(Path.Combine(part, "dev")).Trim());
        return numbers;
    }

    // linux/blkpg.h: struct blkpg_ioctl_arg { int op; int flags; int datalen; void *data; } pointing at
    // struct blkpg_partition { long long start, length; int pno; char devname[64], volname[64]; }.
    private static void Blkpg(string disk, int op, int number, long start, long length)
    {
        const int partSize = 8 + 8 + 4 + 64 + 64 + 4;
        int ptr = IntPtr.Size, argSize = ptr == 8 ? 24 : 16, dataAt = ptr == 8 ? 16 : 12;
        var part = Marshal.AllocHGlobal(partSize);
        var arg = Marshal.AllocHGlobal(argSize);
        try
        {
            for (int i = 0; i < partSize; i++) Marshal.WriteByte(part, i, 0);
            for (int i = 0; i < argSize; i++) Marshal.WriteByte(arg, i, 0);
            Marshal.WriteInt64(part, 0, start);
            Marshal.WriteInt64(part, 8, length);
            Marshal.WriteInt32(part, 16, number);
            Marshal.WriteInt32(arg, 0, op);
            Marshal.WriteInt32(arg, 8, partSize);
            Marshal.WriteIntPtr(arg, dataAt, part);
            using var h = File.OpenHandle(disk, FileMode.Open, FileAccess.Read);
            if (ioctl(h.DangerousGetHandle(), BlkpgIoctl, arg) != 0)
                throw new IOException($"{disk}: the kernel refused partition {number} (BLKPG): {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            Marshal.FreeHGlobal(part);
            Marshal.FreeHGlobal(arg);
        }
    }
}
