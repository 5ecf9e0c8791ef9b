// libc calls for writing image files around the page cache: open(2) with O_DIRECT, pread/pwrite, fcntl, ftruncate.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Appliance.ImageBuilder.Disk.Common;

internal static class DirectIo
{
    /// <summary>The alignment used for O_DIRECT offsets, lengths and buffers: safe for every device with logical blocks up to 4 KiB.</summary>
    public const int Alignment = 4096;

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint pwrite(int fd, ref byte buf, nint count, long offset);

    [DllImport("libc", SetLastError = true)]
    private static extern nint pread(int fd, ref byte buf, nint count, long offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);

    [DllImport("libc", SetLastError = true)]
    private static extern int ftruncate(int fd, long length);

    private const int ORdWr = 2, OCloExec = 0x80000, FGetFl = 3, FSetFl = 4, EINTR = 4, EINVAL = 22;

    /// <summary>O_DIRECT: 0x4000 on x86 (the asm-generic value), 0x10000 on arm and arm64; 0 (not used) elsewhere.</summary>
    private static int ODirect => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X86 or Architecture.X64 => 0x4000,
        Architecture.Arm or Architecture.Arm64 => 0x10000,
        _ => 0,
    };

    /// <summary>Opens an existing file for reading and writing; with O_DIRECT if asked and the file system takes it.</summary>
    public static SafeFileHandle OpenReadWrite(string path, bool direct)
    {
        int fd = direct && ODirect != 0 ? open(path, ORdWr | OCloExec | ODirect) : -1;
        if (fd < 0) fd = open(path, ORdWr | OCloExec);
        if (fd < 0) throw new IOException($"{path}: cannot open for writing: {Marshal.GetLastPInvokeErrorMessage()}");
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// Writes all of <paramref name="data"/> at <paramref name="offset"/>. Some file systems take O_DIRECT at open(2)
    /// but refuse the I/O with EINVAL: then O_DIRECT is turned off for the file and the write made once more.
    /// </summary>
    public static void WriteAll(SafeFileHandle h, ReadOnlySpan<byte> data, long offset, string what)
    {
        if (TryWriteAll(h, data, offset, what)) return;
        ClearDirect(h);
        if (!TryWriteAll(h, data, offset, what))
            throw new IOException($"{what}: write of {data.Length} bytes at offset {offset} failed: invalid argument");
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns the count (short at the end of the file). EINVAL is handled as in <see cref="WriteAll"/>.</summary>
    public static int ReadAt(SafeFileHandle h, Span<byte> buffer, long offset, string what)
    {
        if (TryReadAt(h, buffer, offset, what, out int count)) return count;
        ClearDirect(h);
        if (!TryReadAt(h, buffer, offset, what, out count))
            throw new IOException($"{what}: read of {buffer.Length} bytes at offset {offset} failed: invalid argument");
        return count;
    }

    /// <summary>Turns O_DIRECT off on an open file.</summary>
    private static void ClearDirect(SafeFileHandle h)
    {
        int fd = (int)h.DangerousGetHandle();
        int flags = fcntl(fd, FGetFl, 0);
        if (flags < 0 || fcntl(fd, FSetFl, flags & ~ODirect) < 0)
            throw new IOException($"fcntl(F_SETFL) failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>Writes all of <paramref name="data"/>; false, having written nothing, on EINVAL; throws on other errors.</summary>
    private static bool TryWriteAll(SafeFileHandle h, ReadOnlySpan<byte> data, long offset, string what)
    {
        int fd = (int)h.DangerousGetHandle();
        bool first = true;
        while (data.Length > 0)
        {
            nint n = pwrite(fd, ref MemoryMarshal.GetReference(data), data.Length, offset);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno == EINVAL && first) return false;
                throw new IOException($"{what}: write of {data.Length} bytes at offset {offset} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
            first = false;
            data = data[(int)n..];
            offset += n;
        }
        return true;
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes into it and sets <paramref name="count"/>; false, having read nothing, on EINVAL.</summary>
    private static bool TryReadAt(SafeFileHandle h, Span<byte> buffer, long offset, string what, out int count)
    {
        int fd = (int)h.DangerousGetHandle();
        count = 0;
        while (count < buffer.Length)
        {
            nint n = pread(fd, ref MemoryMarshal.GetReference(buffer[count..]), buffer.Length - count, offset + count);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno == EINVAL && count == 0) return false;
                throw new IOException($"{what}: read of {buffer.Length} bytes at offset {offset} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
            if (n == 0) break;
            count += (int)n;
        }
        return true;
    }

    /// <summary>Sets the file's length (ftruncate(2)).</summary>
    public static void SetLength(SafeFileHandle h, long length, string what)
    {
        if (ftruncate((int)h.DangerousGetHandle(), length) != 0)
            throw new IOException($"{what}: cannot set the length to {length}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>A pinned buffer of <paramref name="length"/> bytes whose start is aligned to <see cref="Alignment"/>.</summary>
    public static Memory<byte> AllocateAligned(int length)
    {
        var array = GC.AllocateUninitializedArray<byte>(length + Alignment, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        int skip = (int)((Alignment - address % Alignment) % Alignment);
        return array.AsMemory(skip, length);
    }
}
