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
        _lock = StoreLock.TryAcquire(Path.Combine(_dir, ".lock"))
            ?? throw new IOException($"{_dir}: could not lock a fresh ingest directory");
    }

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
        foreach (var (d, path) in _blobs)
        {
            var target = _store.BlobPath(d);
            if (File.Exists(target))
                continue;
            using (var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
                f.Flush(flushToDisk: true);
            File.Move(path, target);
        }
        _store.WriteIndex(StoreIndex.Merge(_store.ReadIndex(), entries));
    }

    public void Dispose()
    {
        _lock.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Removes ingest directories left by adds that died (their lock is free).</summary>
    public static int CleanOrphans(ContentStore store)
    {
        int n = 0;
        if (!Directory.Exists(store.IngestDirectory))
            return 0;
        foreach (var dir in Directory.EnumerateDirectories(store.IngestDirectory).Order(StringComparer.Ordinal))
        {
            var lockPath = Path.Combine(dir, ".lock");
            if (!File.Exists(lockPath) && Directory.GetLastWriteTimeUtc(dir) > DateTime.UtcNow.AddMinutes(-10))
                continue; // being created right now
            using var l = StoreLock.TryAcquire(lockPath);
            if (l is null)
                continue; // a live add
            Directory.Delete(dir, recursive: true);
            n++;
        }
        foreach (var f in Directory.EnumerateFiles(store.IngestDirectory))
        {
            File.Delete(f);
            n++;
        }
        return n;
    }
}
