// The libc calls the BCL lacks for durable writes: fsync of a directory (.NET does not open directories), syncfs,
// no-replace rename.
using System.Runtime.InteropServices;

namespace Appliance.Common;

internal static class Native
{
    // DllImport rather than LibraryImport: the projects do not allow unsafe code. Strings marshal as UTF-8 on Linux.
    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int syncfs(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    private const int ORdOnly = 0, OCloExec = 0x80000, AtFdCwd = -100, EINTR = 4, EEXIST = 17, EINVAL = 22, ENOSYS = 38;
    private const uint RenameNoReplace = 1;

    /// <summary>
    /// rename(2) that fails when <paramref name="to"/> exists, in one step (renameat2 RENAME_NOREPLACE), so a racing
    /// writer cannot be clobbered. False when the kernel or file system cannot do it (the caller falls back).
    /// </summary>
    /// <exception cref="IOException"><paramref name="to"/> exists, or the rename failed.</exception>
    public static bool TryRenameNoReplace(string from, string to)
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (renameat2(AtFdCwd, from, AtFdCwd, to, RenameNoReplace) == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno is EINVAL or ENOSYS) return false;
        if (errno == EEXIST) throw new IOException($"{to}: already exists; refusing to overwrite it");
        throw new IOException($"{to}: cannot rename {from} to it: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>
    /// fsync(2) on a directory, so a rename in it reaches the disk. Not on Windows (no such call). A file system
    /// that cannot sync directories (EINVAL) is left alone.
    /// </summary>
    public static void FsyncDirectory(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = open(dir, ORdOnly | OCloExec);
        if (fd < 0)
            throw new IOException($"{dir}: cannot open the directory to sync it: {Marshal.GetLastPInvokeErrorMessage()}");
        try
        {
            int rc;
            while ((rc = fsync(fd)) < 0 && Marshal.GetLastPInvokeError() == EINTR) { }
            if (rc < 0 && Marshal.GetLastPInvokeError() != EINVAL)
                throw new IOException($"{dir}: fsync of the directory failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>syncfs(2): writes every dirty page and inode of the file system holding <paramref name="path"/> to the disk.</summary>
    public static void SyncFileSystem(string path)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = open(path, ORdOnly | OCloExec);
        if (fd < 0)
            throw new IOException($"{path}: cannot open it to sync its file system: {Marshal.GetLastPInvokeErrorMessage()}");
        try
        {
            if (syncfs(fd) < 0)
                throw new IOException($"{path}: syncfs failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            close(fd);
        }
    }
}
