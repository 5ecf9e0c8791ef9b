// The content store: an OCI image layout directory (image-spec image-layout.md) with a lock file and an ingest area.
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Store;

/// <summary>
/// An OCI image layout on disk: <c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/&lt;hex&gt;</c>.
/// Blobs are written to <c>ingest/</c> and renamed into place after their digest and size are checked;
/// <c>index.json</c> is replaced by rename under the exclusive <c>store.lock</c>.
/// </summary>
public sealed partial class ContentStore : Oci.Archive.IBlobSource
{
    /// <summary>The oci-layout file content this store writes.</summary>
    public static readonly byte[] LayoutFile = "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray();

    /// <summary>How long a writer waits for another one to finish.</summary>
    public static TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(10);

    private ContentStore(string root) => Root = root;

    /// <summary>The store directory.</summary>
    public string Root { get; }
    /// <summary>blobs/sha256.</summary>
    public string BlobDirectory => Path.Combine(Root, "blobs", "sha256");
    /// <summary>Temporary area for adds in progress (same file system as the blobs, so rename is atomic).</summary>
    public string IngestDirectory => Path.Combine(Root, "ingest");
    /// <summary>The lock file.</summary>
    public string LockPath => Path.Combine(Root, "store.lock");
    /// <summary>index.json.</summary>
    public string IndexPath => Path.Combine(Root, "index.json");

    /// <summary>Opens the store at <paramref name="root"/>, creating an empty one when the directory is missing or empty.</summary>
    public static ContentStore OpenOrCreate(string root)
    {
        var s = new ContentStore(Path.GetFullPath(root));
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if (!s.IsComplete)
                    s.Create();
                s.CheckLayout();
                return s;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException && attempt < 10)
            {
                // The failed first add of another process removed the empty store meanwhile: make it again.
            }
        }
    }

    /// <summary>Makes the layout in <see cref="Root"/> (empty or half-made) under the lock.</summary>
    private void Create()
    {
        Directory.CreateDirectory(Root);
        // Under the lock, so two processes creating the same store at once do not see each other's half-made layout.
        using (Lock())
        {
            if (IsComplete)
                return;
            var foreign = Directory.EnumerateFileSystemEntries(Root).Select(Path.GetFileName)
                .FirstOrDefault(n => !IsLayoutName(n!));
            if (foreign != null)
                throw new InvalidDataException($"{Root}: not a content store (no oci-layout and index.json), and not empty ('{foreign}')");
            EnsureLayout();
        }
    }

    /// <summary>
    /// Writes whatever part of the layout is missing (an empty index.json, oci-layout, the blob and ingest directories);
    /// the caller holds <see cref="Lock"/>. A commit calls it too, in case the store was removed while the add staged.
    /// </summary>
    internal void EnsureLayout()
    {
        Directory.CreateDirectory(BlobDirectory);
        Directory.CreateDirectory(IngestDirectory);
        if (!File.Exists(IndexPath))
            AtomicFile.Write(IndexPath, OciJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex }));
        if (!File.Exists(Path.Combine(Root, "oci-layout")))
            AtomicFile.Write(Path.Combine(Root, "oci-layout"), LayoutFile);
    }

    private bool IsComplete => File.Exists(Path.Combine(Root, "oci-layout")) && File.Exists(IndexPath);

    /// <summary>Names a store being created may already hold (left by a creation that was interrupted).</summary>
    private static bool IsLayoutName(string name) =>
        name is "store.lock" or "blobs" or "ingest" or "index.json"
        || AtomicFile.IsTemporaryFileOf(name, "index.json") || AtomicFile.IsTemporaryFileOf(name, "oci-layout");

    /// <summary>Opens an existing store; throws when there is none.</summary>
    public static ContentStore Open(string root)
    {
        var s = new ContentStore(Path.GetFullPath(root));
        if (!File.Exists(Path.Combine(s.Root, "oci-layout")) || !File.Exists(s.IndexPath))
            throw new DirectoryNotFoundException($"{s.Root}: no content store here (use 'appliance store add' to create one)");
        s.CheckLayout();
        return s;
    }

    private void CheckLayout()
    {
        var where = Path.Combine(Root, "oci-layout");
        var doc = OciJson.Deserialize<LayoutVersion>(File.ReadAllBytes(where), where);
        if (doc.ImageLayoutVersion != "1.0.0")
            throw new InvalidDataException($"{where}: imageLayoutVersion is '{doc.ImageLayoutVersion}', expected 1.0.0");
        Directory.CreateDirectory(BlobDirectory);
        Directory.CreateDirectory(IngestDirectory);
    }

    /// <summary>The path of a blob (which may not exist).</summary>
    public string BlobPath(Digest d) => Path.Combine(BlobDirectory, d.Hex);

    /// <summary>True when the blob is present.</summary>
    public bool HasBlob(Digest d) => File.Exists(BlobPath(d));

    /// <summary>Opens a blob for reading.</summary>
    public FileStream OpenBlob(Digest d)
    {
        try
        {
            return new FileStream(BlobPath(d), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw new InvalidDataException($"{Root}: blob {d} is missing from the store (run 'appliance store verify')");
        }
    }

    /// <summary>Reads a small JSON blob, checking its size and digest.</summary>
    public byte[] ReadBlob(Descriptor desc, string where)
    {
        var d = desc.ParsedDigest(where);
        var path = BlobPath(d);
        if (!File.Exists(path))
            throw new InvalidDataException($"{Root}: blob {d} ({where}) is missing from the store");
        var len = new FileInfo(path).Length;
        if (len != desc.Size)
            throw new InvalidDataException($"{Root}: blob {d} is {len} bytes, but {where} says {desc.Size}");
        if (len > OciJson.MaxDocumentSize)
            throw new InvalidDataException($"{Root}: blob {d} is {len} bytes, too large for a JSON document");
        var bytes = File.ReadAllBytes(path);
        if (Digest.Of(bytes) != d)
            throw new InvalidDataException($"{Root}: blob {d} does not match its digest (the store is corrupt; run 'appliance store verify')");
        return bytes;
    }

    /// <summary>Reads index.json.</summary>
    public ImageIndex ReadIndex() => ImageIndex.Parse(File.ReadAllBytes(IndexPath), IndexPath);

    /// <summary>Takes the store's write lock.</summary>
    public StoreLock Lock() => StoreLock.Acquire(LockPath, LockTimeout);

    /// <summary>Replaces index.json atomically; the caller holds <see cref="Lock"/>.</summary>
    internal void WriteIndex(ImageIndex index) => AtomicFile.Write(IndexPath, OciJson.Serialize(index));

    private sealed record LayoutVersion
    {
        [System.Text.Json.Serialization.JsonPropertyName("imageLayoutVersion")] public string? ImageLayoutVersion { get; init; }
    }
}
