// The ISO's install payload: what the installer on the medium needs to reproduce the raw disk image on a machine's disk.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Build;

/// <summary>One non-zero stretch of the raw image carried as a file of the ISO.</summary>
/// <param name="Name">The area it lies in: <c>table</c> (before the first partition), a partition's name, <c>gap</c> or <c>backup</c> (after the last partition).</param>
/// <param name="Offset">Its byte offset in the image.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="File">Its path in the ISO tree.</param>
/// <param name="Sha256">SHA-256 of its bytes (lower-case hex).</param>
public sealed record InstallRegion(string Name, long Offset, long Length, string File, string Sha256);

/// <summary>What <see cref="IsoInstallPayload.AddTo"/> put into the ISO tree.</summary>
/// <param name="Regions">The regions, in offset order.</param>
/// <param name="LayoutJson">The bytes of <c>appliance/install/layout.json</c>.</param>
public sealed record InstallPayload(IReadOnlyList<InstallRegion> Regions, byte[] LayoutJson);

/// <summary>
/// Adds <c>appliance/install/</c> to an ISO tree: the raw image's non-zero regions outside root-a's SquashFS (the
/// partition tables, the boot partition's used part, the backup GPT), each as a file whose content is that byte range
/// of the raw image (nothing is copied until the ISO is written), and <c>layout.json</c>, which tells the installer
/// (src/Firstboot/Install) where each goes, that root-a is <c>appliance/root.squashfs</c> (already in the tree: the
/// same bytes as root-a's SquashFS, not carried twice) and what root-a's partition must hash to. Every byte of the
/// image not covered by a region or by root.squashfs is zero. Regions never cross a partition boundary, so the
/// installer can write the tables last; zero stretches shorter than <see cref="MergeGap"/> stay inside a region.
/// The regions follow from the image's bytes alone (holes and written zeros alike), so the same image gives the same
/// payload.
/// </summary>
public static class IsoInstallPayload
{
    /// <summary>The payload's directory in the ISO.</summary>
    public const string Directory = "appliance/install";

    /// <summary>The layout document.</summary>
    public const string LayoutPath = Directory + "/layout.json";

    /// <summary>Where the ISO carries root-a's SquashFS (the live root, and root-a's content for the installer).</summary>
    public const string RootPath = "appliance/root.squashfs";

    /// <summary>The layout document's version.</summary>
    public const int Version = 1;

    /// <summary>The unit the image is scanned in for non-zero bytes.</summary>
    public const int Chunk = 64 << 10;

    /// <summary>Zero stretches shorter than this are kept inside one region rather than splitting it.</summary>
    public const long MergeGap = 1 << 20;

    /// <summary>
    /// Adds the payload to <paramref name="isoTree"/>, which must already hold <see cref="RootPath"/> with root-a's
    /// SquashFS (its length is checked against root-a's content).
    /// </summary>
    /// <param name="isoTree">The ISO's tree.</param>
    /// <param name="rawImagePath">The raw image; its region files read from it when the ISO is written, so it must stay until then.</param>
    /// <param name="raw">What <see cref="DiskImageBuilder"/> wrote, with digests (<see cref="DiskImagePlan.Digests"/>): root-a's partition digest is the one the installer checks.</param>
    /// <param name="minimumDiskSize">The smallest disk the image may be written to (the profile's <c>target.diskSize</c>; <see cref="DiskLayout.MinimumDiskSize"/>).</param>
    /// <param name="sourceDateEpoch">The files' modification time.</param>
    /// <param name="manifestPath">
    /// Where the ISO tree carries the build's manifest (<c>NAME.manifest.json</c>, signed by its bundle), or null: the
    /// installer then also checks that the manifest's root-a digest is layout.json's before it writes anything.
    /// </param>
    /// <exception cref="ArgumentException">The tree lacks root.squashfs or the manifest, or the result has no root-a digest.</exception>
    /// <exception cref="InvalidDataException">root.squashfs's length is not root-a's content length, or the raw image is shorter than the result says.</exception>
    public static InstallPayload AddTo(FileTree isoTree, string rawImagePath, DiskImageResult raw, long minimumDiskSize, long sourceDateEpoch,
        string? manifestPath = null)
    {
        var rootA = raw.Partitions.FirstOrDefault(p => p.Name == "root-a")
            ?? throw new ArgumentException("the raw image has no partition named root-a", nameof(raw));
        var rootDigest = rootA.Sha256 ?? throw new ArgumentException("the raw image was written without digests (DiskImagePlan.Digests)", nameof(raw));
        var squash = isoTree.Find(RootPath) ?? throw new ArgumentException($"the ISO tree has no {RootPath}: add root-a's SquashFS first", nameof(isoTree));
        if (squash.Size != rootA.ContentBytes)
            throw new InvalidDataException($"{RootPath} in the ISO tree is {squash.Size} bytes; root-a's SquashFS in {rawImagePath} is {rootA.ContentBytes}");
        if (manifestPath is not null && isoTree.Find(manifestPath) is null)
            throw new ArgumentException($"the ISO tree has no {manifestPath} (the manifest named for the installer)", nameof(manifestPath));
        if (new FileInfo(rawImagePath).Length != raw.Size)
            throw new InvalidDataException($"{rawImagePath} is {new FileInfo(rawImagePath).Length} bytes; the image written was {raw.Size}");

        var regions = Scan(rawImagePath, raw, rootA);
        for (int i = 0; i < regions.Count; i++)
        {
            var r = regions[i] = regions[i] with { File = $"{Directory}/{i:D2}-{regions[i].Name}.bin" };
            isoTree.AddFile(r.File, FileContent.FromHostFile(rawImagePath, r.Offset, r.Length), mtime: sourceDateEpoch);
        }
        var layout = new JsonObject
        {
            ["version"] = Version,
            ["partitionTable"] = raw.Table == PartitionTableKind.Gpt ? "gpt" : "mbr",
            ["imageSize"] = raw.Size,
            ["imageSha256"] = raw.Sha256 is { } d ? Convert.ToHexStringLower(d) : null,
            ["minimumDiskSize"] = minimumDiskSize,
            ["regions"] = new JsonArray(regions.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Name, ["offset"] = r.Offset, ["length"] = r.Length, ["file"] = r.File, ["sha256"] = r.Sha256,
            }).ToArray()),
            ["rootA"] = new JsonObject
            {
                ["offset"] = rootA.Offset, ["length"] = rootA.Size, ["sha256"] = Convert.ToHexStringLower(rootDigest),
                ["file"] = RootPath, ["fileLength"] = rootA.ContentBytes,
            },
            ["manifest"] = manifestPath,
        };
        var bytes = Encoding.UTF8.GetBytes(layout.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        isoTree.AddFile(LayoutPath, bytes, mtime: sourceDateEpoch);
        isoTree.AddDirectory(Directory, mtime: sourceDateEpoch);
        return new InstallPayload(regions, bytes);
    }

    /// <summary>The non-zero regions of the image outside root-a's SquashFS, split at every partition boundary.</summary>
    private static List<InstallRegion> Scan(string path, DiskImageResult raw, PartitionResult rootA)
    {
        var parts = raw.Partitions.OrderBy(p => p.Offset).ToList();
        // Areas: [start, end) with a name; root-a's content is left out (it is root.squashfs), its zero tail is scanned.
        var areas = new List<(string Name, long Start, long End)>();
        long at = 0;
        foreach (var p in parts)
        {
            if (p.Offset > at) areas.Add((at == 0 ? "table" : "gap", at, p.Offset));
            if (p == rootA) areas.Add((p.Name, p.Offset + p.ContentBytes, p.Offset + p.Size));
            else areas.Add((p.Name, p.Offset, p.Offset + p.Size));
            at = p.Offset + p.Size;
        }
        if (raw.Size > at) areas.Add(("backup", at, raw.Size));

        var content = FileContent.FromHostFile(path);
        var data = content.GetDataRanges();
        var regions = new List<InstallRegion>();
        using var reader = content.Open();
        var buf = new byte[Chunk];
        foreach (var (name, start, end) in areas)
        {
            long regionStart = -1, regionEnd = -1;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Close()
            {
                if (regionStart < 0) return;
                regions.Add(new InstallRegion(name, regionStart, regionEnd - regionStart, "", Convert.ToHexStringLower(hash.GetHashAndReset())));
                regionStart = -1;
            }
            long scanned = start;
            foreach (var r in data)
            {
                long from = Math.Max(r.Offset, start), to = Math.Min(r.End, end);
                // Chunks are counted from the area's start, so where a hole begins does not change the regions.
                for (long c = Math.Max(scanned, start + (from - start) / Chunk * Chunk); c < to; c += Chunk)
                {
                    scanned = c + Chunk;
                    int n = (int)Math.Min(Chunk, end - c);
                    reader.ReadExactly(c, buf.AsSpan(0, n));
                    // A chunk that straddles the data range's start or end reads holes as zeros: the same bytes.
                    if (buf.AsSpan(0, n).IndexOfAnyExcept((byte)0) < 0) continue;
                    if (regionStart >= 0 && c - regionEnd >= MergeGap) Close();
                    if (regionStart < 0) regionStart = c;
                    else AppendZeros(hash, c - regionEnd);
                    hash.AppendData(buf, 0, n);
                    regionEnd = c + n;
                }
            }
            Close();
        }
        return regions;
    }

    private static readonly byte[] ZeroChunk = new byte[Chunk];

    private static void AppendZeros(IncrementalHash hash, long count)
    {
        for (; count > 0; count -= Chunk) hash.AppendData(ZeroChunk, 0, (int)Math.Min(Chunk, count));
    }
}
