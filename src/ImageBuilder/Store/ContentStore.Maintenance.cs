// `store gc` (drop unreferenced blobs and leftovers of dead adds) and `store verify` (re-hash every blob).
using System.Security.Cryptography;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Store.Import;

namespace Appliance.ImageBuilder.Store;

/// <summary>What gc removed.</summary>
public sealed record GcResult(int BlobsRemoved, long BytesFreed, int LeftoversRemoved);

public sealed partial class ContentStore
{
    /// <summary>
    /// Removes blobs no index entry reaches, ingest directories of adds that died, and stray temp files; under the lock,
    /// so a concurrent add either committed before (its blobs are referenced) or commits after.
    /// </summary>
    public GcResult Gc()
    {
        using var _ = Lock();
        var live = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in ReadIndex().Manifests)
            Reachable(e, live, null, null);
        int removed = 0;
        long bytes = 0;
        foreach (var path in Directory.EnumerateFiles(BlobDirectory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (live.ContainsKey("sha256:" + name))
                continue;
            bytes += new FileInfo(path).Length;
            File.Delete(path);
            removed++;
        }
        int leftovers = Staging.CleanOrphans(this);
        foreach (var tmp in Directory.EnumerateFiles(Root, "*.tmp-*"))
        {
            File.Delete(tmp);
            leftovers++;
        }
        return new GcResult(removed, bytes, leftovers);
    }

    /// <summary>
    /// Deletes the whole store when it holds no image, no blob and no add in progress (checked under the lock);
    /// returns whether it did. Used when the add that created the store fails.
    /// Every removal is non-recursive: an add that begins staging meanwhile keeps <c>ingest/</c> (and so the store
    /// directory) from going, and its commit writes the missing layout again (<see cref="EnsureLayout"/>).
    /// </summary>
    public bool DeleteIfUnused()
    {
        try
        {
            using (Lock())
            {
                Staging.CleanOrphans(this);
                if (ReadIndex().Manifests.Count > 0 || Directory.EnumerateFileSystemEntries(BlobDirectory).Any())
                    return false;
                Directory.Delete(IngestDirectory); // throws when an add is staging: then the store stays as it is
                Directory.Delete(BlobDirectory);
                Directory.Delete(Path.Combine(Root, "blobs"));
                foreach (var tmp in Directory.EnumerateFiles(Root, "*.tmp-*"))
                    File.Delete(tmp);
                File.Delete(IndexPath);
                File.Delete(Path.Combine(Root, "oci-layout"));
                // Unlinked while still held: whoever gets this lock next sees it unlinked and takes a fresh one.
                File.Delete(LockPath);
            }
            Directory.Delete(Root);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return false; // best effort: the caller is already reporting the add's own failure
        }
    }

    /// <summary>Re-hashes every blob and checks that every referenced blob is present; returns the problems found.</summary>
    public IReadOnlyList<string> Verify(Action<string>? progress = null)
    {
        var problems = new List<string>();
        foreach (var path in Directory.EnumerateFiles(BlobDirectory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (!Digest.TryParseHex(name, out var expected))
            {
                problems.Add($"blobs/sha256/{name}: not a blob name (64 lowercase hex digits)");
                continue;
            }
            progress?.Invoke(expected.ToString());
            var actual = Digest.FromHash(FileSha256.Hash(path));
            if (actual != expected)
                problems.Add($"blob {expected} is corrupt: its content hashes to {actual}");
        }
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var e in ReadIndex().Manifests)
        {
            if (!Digest.TryParse(e.Digest, out var d))
                problems.Add($"index.json: entry digest '{e.Digest}' is not valid");
            else if (!HasBlob(d))
                problems.Add($"index.json: image {StoreIndex.NameOf(e) ?? e.Digest} refers to missing blob {e.Digest}");
            else
                Reachable(e, seen, null, problems);
        }
        return problems.Distinct().ToList();
    }
}
