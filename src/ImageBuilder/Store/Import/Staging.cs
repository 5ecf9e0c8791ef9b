// A private ingest directory for one add: blobs land here first and move into blobs/sha256 only on commit.
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Store.Import;

/// <summary>
/// Blobs of one add, staged under <c>ingest/&lt;id&gt;/</c> and held by a lock file so a concurrent cleanup
/// (<see cref="CleanOrphans"/>) leaves a live add alone. Disposing removes whatever was not committed.
/// </summary>
internal sealed class Staging : IDisposable
{
    private readonly ContentStore _store;
    private readonly string _dir;
    private readonly StoreLock _lock;
    private readonly Dictionary<Digest, string> _blobs = [];
    private int _counter;

    public Staging(ContentStore store)
    {
        _store = store;
        _dir = Path.Combine(store.IngestDirectory, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        // The lock file is locked under a temporary name and then renamed (the flock follows the inode), so a cleaner
        // that finds ".lock" always finds it held: it can never take the directory of an add that is just starting.
        var pending = Path.Combine(_dir, PendingLockName);
        _lock = StoreLock.TryAcquire(pending)
            ?? throw new IOException($"{_dir}: could not lock a fresh ingest directory");
        File.Move(pending, Path.Combine(_dir, LockName));
    }

    private const string LockName = ".lock";
    private const string PendingLockName = ".lock-new";

    /// <summary>How old an unlocked ingest directory without a lock file must be before a cleaner removes it.</summary>
    private static readonly TimeSpan CreationGrace = TimeSpan.FromMinutes(10);

    /// <summary>True when the blob is staged already.</summary>
    public bool Has(Digest d) => _blobs.ContainsKey(d);

    /// <summary>A new temp file path in the ingest directory.</summary>
    public string NewTempPath() => Path.Combine(_dir, "part-" + (++_counter).ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Stages bytes under their digest.</summary>
    public void Add(Digest d, ReadOnlySpan<byte> bytes)
    {
        if (_blobs.ContainsKey(d))
            return;
        var p = NewTempPath();
        File.WriteAllBytes(p, bytes.ToArray());
        _blobs[d] = p;
    }

    /// <summary>Records a temp file (already checked) as the blob <paramref name="d"/>.</summary>
    public void AddFile(Digest d, string tempPath)
    {
        if (!_blobs.TryAdd(d, tempPath))
            File.Delete(tempPath);
    }

    /// <summary>
    /// Moves the staged blobs into place and adds <paramref name="entries"/> to index.json, under the store lock.
    /// Blobs go first: an interruption between the two leaves only unreferenced blobs, which gc removes.
    /// </summary>
    public void Commit(IReadOnlyList<Descriptor> entries)
    {
        using var _ = _store.Lock();
        _store.EnsureLayout();
        var moved = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (d, path) in _blobs)
        {
            var target = _store.BlobPath(d);
            if (File.Exists(target))
                continue;
            using (var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
                f.Flush(flushToDisk: true);
            AtomicFile.Rename(path, target, overwrite: false, durable: false);
            moved.Add(Path.GetDirectoryName(target)!);
        }
        // The blobs' names reach the disk before the index that points at them.
        foreach (var dir in moved)
            AtomicFile.SyncDirectory(dir);
        _store.WriteIndex(StoreIndex.Merge(_store.ReadIndex(), entries));
    }

    public void Dispose()
    {
        // Removed while the lock is still held: a cleaner sees the lock taken, or finds the directory gone.
        try
        {
            DeleteTree(_dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the directory is unlocked below, so the next add or gc removes it.
        }
        finally
        {
            _lock.Dispose();
        }
    }

    /// <summary>
    /// Removes ingest directories left by adds that died (their lock is free). Safe to run without the store lock,
    /// next to adds that start or finish and to other cleaners: a directory is removed only by whoever holds its lock.
    /// </summary>
    public static int CleanOrphans(ContentStore store)
    {
        int n = 0;
        if (!Directory.Exists(store.IngestDirectory))
            return 0;
        foreach (var dir in Directory.EnumerateDirectories(store.IngestDirectory).Order(StringComparer.Ordinal))
        {
            var lockPath = Path.Combine(dir, LockName);
            if (!File.Exists(lockPath))
            {
                // Being created or removed right now, or left by an add killed in between (then it is old).
                var written = Directory.GetLastWriteTimeUtc(dir);
                if (written > DateTime.UtcNow - CreationGrace || !Directory.Exists(dir))
                    continue;
                if (DeleteTree(dir))
                    n++;
                continue;
            }
            using var l = StoreLock.TryAcquireExisting(lockPath);
            if (l is null)
                continue; // a live add, or it finished (or another cleaner took it) since the listing
            if (DeleteTree(dir))
                n++;
        }
        foreach (var f in Directory.EnumerateFiles(store.IngestDirectory))
        {
            File.Delete(f);
            n++;
        }
        return n;
    }

    /// <summary>Deletes a directory tree; false when it was already gone.</summary>
    private static bool DeleteTree(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
    }
}
