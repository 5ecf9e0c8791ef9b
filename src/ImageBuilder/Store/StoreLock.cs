// An exclusive lock on the store, held while index.json or the blob set changes (flock through FileShare.None).
namespace Appliance.ImageBuilder.Store;

/// <summary>
/// An exclusive, process-wide lock on a lock file. On Linux, .NET takes <c>flock(LOCK_EX|LOCK_NB)</c> for
/// <see cref="FileShare.None"/>, so the lock also holds across processes, and the kernel drops it when a process dies.
/// A lock taken on a file that was unlinked meanwhile (its holder removed it) is refused, so two holders of the
/// "same" path never exist at once.
/// </summary>
public sealed class StoreLock : IDisposable
{
    private readonly FileStream _stream;

    private const int EWouldBlock = 11; // the errno .NET reports when flock finds the lock taken (Linux)

    private StoreLock(FileStream stream) => _stream = stream;

    /// <summary>Waits up to <paramref name="timeout"/> for the lock on <paramref name="path"/> (created if missing).</summary>
    public static StoreLock Acquire(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = 5;
        while (true)
        {
            if (TryAcquire(path) is { } l)
                return l;
            if (DateTime.UtcNow > deadline)
                throw new IOException($"timed out after {timeout.TotalSeconds:0} s waiting for the store lock {path}");
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 100);
        }
    }

    /// <summary>Takes the lock if nobody holds it (creating the file if missing); null otherwise.</summary>
    public static StoreLock? TryAcquire(string path) => TryTake(path, FileMode.OpenOrCreate);

    /// <summary>
    /// Takes the lock on an existing lock file if nobody holds it; null when it is held, or when the file or its
    /// directory is gone (its owner finished and removed it).
    /// </summary>
    public static StoreLock? TryAcquireExisting(string path)
    {
        try
        {
            return TryTake(path, FileMode.Open);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static StoreLock? TryTake(string path, FileMode mode)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, mode, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult == EWouldBlock
            || (e is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(path)))
        {
            return null; // held by someone else
        }
        if (IsUnlinked(stream))
        {
            stream.Dispose();
            return null;
        }
        return new StoreLock(stream);
    }

    /// <summary>True when the open file no longer has a name (Linux marks it "(deleted)" in /proc/self/fd).</summary>
    private static bool IsUnlinked(FileStream stream)
    {
        if (!OperatingSystem.IsLinux())
            return false;
        var fd = stream.SafeFileHandle.DangerousGetHandle().ToInt64();
        try
        {
            var target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
            return target != null && target.EndsWith(" (deleted)", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // no /proc: the check is skipped
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();
}
