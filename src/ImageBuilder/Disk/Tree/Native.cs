// libc calls the BCL lacks: statx for owner/inode/device numbers, xattrs, and SEEK_DATA/SEEK_HOLE for holes.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>What lstat-style metadata says about one host path (Linux statx(2)).</summary>
internal readonly record struct HostStat(
    int Mode, int Uid, int Gid, long Nlink, ulong Ino, uint DevMajor, uint DevMinor,
    uint RdevMajor, uint RdevMinor, long Size, long MTime);

internal static class Native
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const int SeekData = 3, SeekHole = 4;
    private const int ENXIO = 6, ENODATA = 61, ERANGE = 34, ENOTSUP = 95;

    // DllImport rather than LibraryImport: the project does not allow unsafe code. Strings marshal as UTF-8 on Linux.
    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, string path, int flags, uint mask, byte[] buf);

    [DllImport("libc", SetLastError = true)]
    private static extern nint llistxattr(string path, byte[]? list, nint size);

    [DllImport("libc", SetLastError = true)]
    private static extern nint lgetxattr(string path, string name, byte[]? value, nint size);

    [DllImport("libc", SetLastError = true)]
    private static extern long lseek(int fd, long offset, int whence);

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int posix_fadvise(int fd, long offset, long len, int advice);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    private const int ORdOnly = 0, OCloExec = 0x80000; // the same values on x86-64 and arm64
    private const int PosixFadvWillNeed = 3;

    /// <summary>statx(2) without following a final symlink; the struct layout is the same on every architecture.</summary>
    public static HostStat LStat(string path)
    {
        var b = new byte[256];
        if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, b) != 0)
            throw new IOException($"{path}: statx failed: {Marshal.GetLastPInvokeErrorMessage()}");
        return new HostStat(
            Mode: BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(28)),
            Uid: (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)),
            Gid: (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(24)),
            Nlink: BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)),
            Ino: BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(32)),
            DevMajor: BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(136)),
            DevMinor: BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(140)),
            RdevMajor: BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(128)),
            RdevMinor: BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(132)),
            Size: BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(40)),
            MTime: BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(112)));
    }

    /// <summary>All extended attributes of a path (not following symlinks), by name.</summary>
    public static SortedDictionary<string, byte[]> ListXattrs(string path)
    {
        var result = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        nint size = llistxattr(path, null, 0);
        if (size < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err == ENOTSUP) return result;
            throw new IOException($"{path}: llistxattr failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        if (size == 0) return result;
        var list = new byte[size];
        size = llistxattr(path, list, size);
        if (size < 0) throw new IOException($"{path}: llistxattr failed: {Marshal.GetLastPInvokeErrorMessage()}");
        foreach (var raw in Split(list.AsSpan(0, (int)size)))
        {
            nint vlen = lgetxattr(path, raw, null, 0);
            if (vlen < 0)
            {
                if (Marshal.GetLastPInvokeError() == ENODATA) continue;
                throw new IOException($"{path}: lgetxattr {raw} failed: {Marshal.GetLastPInvokeErrorMessage()}");
            }
            var value = new byte[vlen];
            vlen = lgetxattr(path, raw, value, vlen);
            if (vlen < 0 && Marshal.GetLastPInvokeError() == ERANGE)
                throw new IOException($"{path}: xattr {raw} changed while being read");
            if (vlen < 0) throw new IOException($"{path}: lgetxattr {raw} failed: {Marshal.GetLastPInvokeErrorMessage()}");
            result[raw] = value.AsSpan(0, (int)vlen).ToArray();
        }
        return result;
    }

    private static List<string> Split(ReadOnlySpan<byte> list)
    {
        var names = new List<string>();
        while (list.Length > 0)
        {
            int z = list.IndexOf((byte)0);
            if (z < 0) z = list.Length;
            if (z > 0) names.Add(Encoding.UTF8.GetString(list[..z]));
            list = z < list.Length ? list[(z + 1)..] : [];
        }
        return names;
    }

    /// <summary>
    /// The data ranges of [offset, offset+length) of an open file, relative to offset, found with SEEK_DATA/SEEK_HOLE;
    /// null when the file system cannot tell.
    /// </summary>
    public static List<DataRange>? DataRanges(SafeFileHandle handle, long offset, long length)
    {
        int fd = (int)handle.DangerousGetHandle();
        var ranges = new List<DataRange>();
        long end = offset + length, pos = offset;
        while (pos < end)
        {
            long data = lseek(fd, pos, SeekData);
            if (data < 0)
            {
                if (Marshal.GetLastPInvokeError() == ENXIO) break; // only a hole remains
                return null;
            }
            if (data >= end) break;
            long hole = lseek(fd, data, SeekHole);
            if (hole < 0) return null;
            hole = Math.Min(hole, end);
            ranges.Add(new DataRange(data - offset, hole - data));
            pos = hole;
        }
        return ranges;
    }

    /// <summary>
    /// Opens a file for reading with a plain open(2): no advisory lock and no extra fstat, unlike File.OpenHandle.
    /// Null when it cannot be opened (the caller then takes the BCL path, which reports the error).
    /// </summary>
    public static SafeFileHandle? OpenReadOnly(string path)
    {
        int fd = open(path, ORdOnly | OCloExec);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// Asks the kernel to start reading a file range into the page cache (posix_fadvise WILLNEED), in 4 MiB requests:
    /// Linux cuts each request to the device's read-ahead size. Best effort.
    /// </summary>
    public static void WillNeed(string path, long offset, long length)
    {
        int fd = open(path, ORdOnly | OCloExec);
        if (fd < 0) return;
        const long Step = 4L << 20;
        for (long at = 0; at < length; at += Step)
            if (posix_fadvise(fd, offset + at, Math.Min(Step, length - at), PosixFadvWillNeed) != 0) break;
        close(fd);
    }
}
