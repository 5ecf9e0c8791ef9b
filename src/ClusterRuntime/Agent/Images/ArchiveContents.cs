// One streaming pass over an image archive: every blob goes to containerd as it is read; only small JSON stays in memory.
using System.Formats.Tar;
using System.Text.RegularExpressions;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>
/// What one pass over an archive found: the digest and size of each member written to the content store, the
/// kind of compression of each (for docker-save layers), and the bytes of the small JSON members (index.json,
/// manifest.json, manifests, configs) that the image records are built from.
/// </summary>
internal sealed partial class ArchiveContents
{
    /// <summary>JSON members up to this size are kept in memory; larger members are only streamed.</summary>
    public const int MaxJsonBytes = 4 << 20;

    /// <summary>Members written to the store, by their name in the archive.</summary>
    public Dictionary<string, (string Digest, long Size, string Compression)> Blobs { get; } = new(StringComparer.Ordinal);

    /// <summary>The small JSON members, by name in the archive (blobs also by digest).</summary>
    public Dictionary<string, byte[]> Json { get; } = new(StringComparer.Ordinal);

    /// <summary>Blobs that containerd already had (not written again).</summary>
    public int Reused { get; private set; }

    /// <summary>Bytes streamed to containerd.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Reads the whole tar stream, writing each blob through <paramref name="writer"/>.</summary>
    /// <exception cref="InvalidDataException">The tar is corrupt, a member is not what its name says, or a link/device entry.</exception>
    public static async Task<ArchiveContents> ReadAsync(Stream tar, ContentWriter writer, CancellationToken ct)
    {
        var contents = new ArchiveContents();
        await using var reader = new TarReader(tar, leaveOpen: true);
        string last = "(start of archive)";
        while (true)
        {
            TarEntry? e;
            try
            {
                e = await reader.GetNextEntryAsync(copyData: false, ct);
            }
            catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or FormatException or ArgumentException)
            {
                throw new InvalidDataException($"truncated or corrupt tar after member '{last}' ({ex.Message})", ex);
            }
            if (e is null)
                break;
            last = e.Name;
            if (e.EntryType is TarEntryType.Directory or TarEntryType.GlobalExtendedAttributes)
                continue;
            if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile))
                throw new InvalidDataException($"member '{e.Name}' is a {e.EntryType} entry; an image archive holds only files and directories");
            var name = e.Name.StartsWith("./", StringComparison.Ordinal) ? e.Name[2..] : e.Name;
            try
            {
                await contents.AddAsync(name, e.DataStream ?? Stream.Null, e.Length, writer, ct);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
            {
                throw new InvalidDataException($"member '{name}': {ex.Message}", ex);
            }
        }
        return contents;
    }

    private async Task AddAsync(string name, Stream data, long size, ContentWriter writer, CancellationToken ct)
    {
        var head = new byte[(int)Math.Min(size, 4096)];
        await data.ReadExactlyAsync(head, ct);
        var start = head.AsSpan().TrimStart(" \t\r\n"u8);
        bool json = size <= MaxJsonBytes && (start.StartsWith("{"u8) || start.StartsWith("["u8));
        MemoryStream? copy = json ? new MemoryStream((int)size) : null;
        var blob = BlobName().Match(name);
        string? expected = blob.Success ? blob.Groups[1].Value + ":" + blob.Groups[2].Value : null;
        if (!blob.Success && Metadata(name))
        {
            if (copy is not null)
            {
                copy.Write(head);
                await data.CopyToAsync(copy, ct);
                Json[name] = copy.ToArray();
            }
            return;
        }
        string digest;
        if (expected is not null && await writer.ExistsAsync(expected, ct))
        {
            Reused++;
            digest = expected;
            if (copy is not null)
            {
                copy.Write(head);
                await data.CopyToAsync(copy, ct);
            }
        }
        else
        {
            digest = await writer.WriteAsync(head, data, size, expected, copy is null ? null : c => copy.Write(c.Span), ct);
            BytesWritten += size;
        }
        Blobs[name] = (digest, size, ArchiveStream.Compression(head));
        if (copy is not null)
        {
            var bytes = copy.ToArray();
            Json[name] = bytes;
            Json[digest] = bytes;
        }
    }

    // Top-level bookkeeping files of the two layouts, and the legacy per-layer files of docker save: read, never stored.
    private static bool Metadata(string name) =>
        name is "index.json" or "oci-layout" or "manifest.json" or "repositories"
        || name.EndsWith("/VERSION", StringComparison.Ordinal) || name.EndsWith("/json", StringComparison.Ordinal);

    [GeneratedRegex("^blobs/(sha256)/([0-9a-f]{64})$")]
    private static partial Regex BlobName();
}
