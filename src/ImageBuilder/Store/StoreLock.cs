// An exclusive lock on the store, held while index.json or the blob set changes (flock through FileShare.None).
namespace Appliance.ImageBuilder.Store;

/// <summary>
/// An exclusive, process-wide lock on a lock file. On Linux, .NET takes <c>flock(LOCK_EX|LOCK_NB)</c> for
/// <see cref="FileShare.None"/>, so the lock also holds across processes, and the kernel drops it when a process dies.
/// </summary>
public sealed class StoreLock : IDisposable
{
    private readonly FileStream _stream;

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

    /// <summary>Takes the lock if nobody holds it; null otherwise.</summary>
    public static StoreLock? TryAcquire(string path)
    {
        try
        {
            return new StoreLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();
}
