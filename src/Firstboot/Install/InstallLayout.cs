// appliance/install/layout.json on the medium: where each piece of the raw image goes on the disk (written by IsoInstallPayload).
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Appliance.Firstboot.Install;

/// <summary>A non-zero stretch of the raw image, carried as a file of the medium.</summary>
/// <param name="Name"><c>table</c> (before the first partition: written last), a partition's name, <c>gap</c> or <c>backup</c>.</param>
/// <param name="Offset">Its byte offset on the disk.</param>
/// <param name="Length">Its length.</param>
/// <param name="File">The file on the medium, relative to its root.</param>
/// <param name="Sha256">SHA-256 of its bytes (hex).</param>
public sealed record LayoutRegion(string Name, long Offset, long Length, string File, string Sha256)
{
    /// <summary>The first byte past it.</summary>
    public long End => Offset + Length;
    /// <summary>Whether it holds the partition table (written last, so a disk cut short holds no table).</summary>
    public bool IsTable => Name == "table";
}

/// <summary>root-a: the partition's extent and digest, and the medium's SquashFS that fills its start.</summary>
/// <param name="Offset">The partition's byte offset.</param>
/// <param name="Length">The partition's length (the SquashFS, then zeros).</param>
/// <param name="Sha256">SHA-256 of the whole partition (the build manifest's root-a digest).</param>
/// <param name="File">The SquashFS on the medium (<c>appliance/root.squashfs</c>).</param>
/// <param name="FileLength">Its length.</param>
public sealed record RootSlotImage(long Offset, long Length, string Sha256, string File, long FileLength);

/// <summary>
/// The raw image as the installer reproduces it: every byte of [0, <see cref="ImageSize"/>) is in a region, in
/// root-a's SquashFS, or zero.
/// </summary>
/// <param name="PartitionTable">gpt or mbr.</param>
/// <param name="ImageSize">The raw image's length.</param>
/// <param name="MinimumDiskSize">The smallest disk the image may go on (the profile's target.diskSize).</param>
/// <param name="Regions">The regions, in offset order.</param>
/// <param name="RootA">root-a.</param>
/// <param name="Manifest">The build manifest on the medium (relative path), or null.</param>
public sealed record InstallLayout(string PartitionTable, long ImageSize, long MinimumDiskSize, IReadOnlyList<LayoutRegion> Regions,
    RootSlotImage RootA, string? Manifest)
{
    /// <summary>The document's path on the medium.</summary>
    public const string FilePath = "appliance/install/layout.json";

    /// <summary>The version this installer reads.</summary>
    public const int Version = 1;

    /// <summary>Reads and checks <see cref="FilePath"/> below <paramref name="medium"/>.</summary>
    /// <exception cref="InvalidDataException">Missing, not JSON, a field missing or out of place (the message names the field).</exception>
    public static InstallLayout Read(string medium)
    {
        var path = Path.Combine(medium, FilePath);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path}: not found: this medium carries no installer payload (built without target.format: iso?)");
        JsonObject doc;
        try { doc = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON: {e.Message}"); }
        T Get<T>(JsonNode? node, string field)
        {
            try { return node is null ? throw new InvalidDataException($"{path}: {field} is missing") : node.GetValue<T>(); }
            catch (Exception e) when (e is InvalidOperationException or FormatException) { throw new InvalidDataException($"{path}: {field} is not a {typeof(T).Name}"); }
        }
        int version = Get<int>(doc["version"], "version");
        if (version != Version) throw new InvalidDataException($"{path}: version {version}; this installer reads version {Version}");
        var regions = new List<LayoutRegion>();
        var list = doc["regions"] as JsonArray ?? throw new InvalidDataException($"{path}: regions is missing");
        for (int i = 0; i < list.Count; i++)
        {
            var r = list[i];
            string f = $"regions[{i}]";
            regions.Add(new LayoutRegion(Get<string>(r?["name"], f + ".name"), Get<long>(r?["offset"], f + ".offset"), Get<long>(r?["length"], f + ".length"),
                Get<string>(r?["file"], f + ".file"), Get<string>(r?["sha256"], f + ".sha256")));
        }
        var root = doc["rootA"];
        var rootA = new RootSlotImage(Get<long>(root?["offset"], "rootA.offset"), Get<long>(root?["length"], "rootA.length"),
            Get<string>(root?["sha256"], "rootA.sha256"), Get<string>(root?["file"], "rootA.file"), Get<long>(root?["fileLength"], "rootA.fileLength"));
        var layout = new InstallLayout(Get<string>(doc["partitionTable"], "partitionTable"), Get<long>(doc["imageSize"], "imageSize"),
            Get<long>(doc["minimumDiskSize"], "minimumDiskSize"), regions, rootA, doc["manifest"]?.GetValue<string>());
        layout.Check(path);
        return layout;
    }

    /// <summary>Regions in order, apart, inside the image and clear of root-a's SquashFS; every offset on a sector.</summary>
    private void Check(string path)
    {
        long at = 0;
        for (int i = 0; i < Regions.Count; i++)
        {
            var r = Regions[i];
            if (r.Offset < at || r.Length <= 0 || r.End > ImageSize || r.Offset % 512 != 0)
                throw new InvalidDataException($"{path}: regions[{i}] ({r.Name}, offset {r.Offset}, length {r.Length}) overlaps the one before, is empty, is off a sector or ends past the image ({ImageSize} bytes)");
            if (r.Offset < RootA.Offset + RootA.FileLength && r.End > RootA.Offset)
                throw new InvalidDataException($"{path}: regions[{i}] ({r.Name}) overlaps root-a's SquashFS");
            at = r.End;
        }
        if (RootA.Offset % 512 != 0 || RootA.FileLength > RootA.Length || RootA.Offset + RootA.Length > ImageSize)
            throw new InvalidDataException($"{path}: rootA (offset {RootA.Offset}, length {RootA.Length}, file {RootA.FileLength} bytes) does not fit the {ImageSize}-byte image");
    }

    /// <summary>
    /// With <see cref="Manifest"/>: the build manifest on <paramref name="medium"/> (signed beside the image) must give
    /// root-a the same place and digest, so what is written is what was signed.
    /// </summary>
    /// <exception cref="InvalidDataException">The manifest is missing, unreadable or disagrees.</exception>
    public void CheckManifest(string medium)
    {
        if (Manifest is null) return;
        var path = Path.Combine(medium, Manifest);
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: the build manifest named by {FilePath} is not on the medium");
        JsonNode? root;
        try { root = (JsonNode.Parse(File.ReadAllBytes(path))?["partitions"] as JsonArray)?.FirstOrDefault(p => p?["name"]?.GetValue<string>() == "root-a"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new InvalidDataException($"{path}: not a build manifest: {e.Message}"); }
        if (root is null) throw new InvalidDataException($"{path}: no root-a in partitions");
        var digest = root["sha256"]?.GetValue<string>();
        long offset = root["offset"]?.GetValue<long>() ?? -1, size = root["size"]?.GetValue<long>() ?? -1;
        if (digest != RootA.Sha256 || offset != RootA.Offset || size != RootA.Length)
            throw new InvalidDataException($"{path}: root-a is {size} bytes at {offset} with SHA-256 {digest}, but {FilePath} says {RootA.Length} bytes at {RootA.Offset} with {RootA.Sha256}: the medium does not hold the signed image");
    }
}
