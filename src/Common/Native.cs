// The libc calls the BCL lacks for atomic writes: fsync of a directory (.NET does not open directories).
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
    private static extern int close(int fd);

    private const int ORdOnly = 0, OCloExec = 0x80000, EINTR = 4, EINVAL = 22;

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
}
