// Writes an oci-archive: a tar of an OCI image layout (oci-layout, index.json, blobs/sha256/*), reproducibly.
using System.Formats.Tar;

namespace Appliance.ImageBuilder.Oci.Archive;

/// <summary>
/// A deterministic oci-archive writer. Members are sorted by name, owned by 0:0 with no user names, and stamped
/// with one fixed time (SOURCE_DATE_EPOCH). Ustar headers are used because PAX headers made by the BCL carry the
/// wall-clock atime/ctime; every name here fits ustar's 100-byte field. The file is written to a temp name beside
/// the target and renamed when complete.
/// </summary>
public sealed class OciArchiveWriter(IBlobSource blobs, DateTimeOffset timestamp)
{
    /// <summary>
    /// Writes <paramref name="index"/> as index.json and the blobs in <paramref name="blobDigests"/> to
    /// <paramref name="outputPath"/>. Each blob's content is checked against its digest while it is copied.
    /// </summary>
    public void Write(string outputPath, ImageIndex index, IEnumerable<Digest> blobDigests)
    {
        AtomicFile.Write(outputPath, file =>
        {
            using var tar = new TarWriter(file, TarEntryFormat.Ustar, leaveOpen: true);
            Dir(tar, "blobs/");
            Dir(tar, "blobs/sha256/");
            foreach (var d in blobDigests.Distinct().OrderBy(d => d.Hex, StringComparer.Ordinal))
            {
                using var blob = blobs.OpenBlob(d);
                using var check = new DigestingStream(blob);
                var e = Entry(TarEntryType.RegularFile, "blobs/sha256/" + d.Hex);
                e.DataStream = check;
                tar.WriteEntry(e);
                check.Verify(d, blob.Name);
            }
            File(tar, "index.json", OciJson.Serialize(index));
            File(tar, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray());
        }, new(BufferSize: 1 << 20));
    }

    private UstarTarEntry Entry(TarEntryType type, string name) => new(type, name)
    {
        ModificationTime = timestamp,
        Uid = 0,
        Gid = 0,
        UserName = "",
        GroupName = "",
        Mode = type == TarEntryType.Directory
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
    };

    private void Dir(TarWriter tar, string name) => tar.WriteEntry(Entry(TarEntryType.Directory, name));

    private void File(TarWriter tar, string name, byte[] bytes)
    {
        var e = Entry(TarEntryType.RegularFile, name);
        e.DataStream = new MemoryStream(bytes, writable: false);
        tar.WriteEntry(e);
    }

    /// <summary>The timestamp from SOURCE_DATE_EPOCH, or the Unix epoch when it is not set.</summary>
    public static DateTimeOffset TimestampFrom(Func<string, string?> env)
    {
        return SourceDateEpoch.Read(env) is { } secs ? DateTimeOffset.FromUnixTimeSeconds(secs) : DateTimeOffset.UnixEpoch;
    }
}
