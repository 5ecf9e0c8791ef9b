// A stand-in for the ISO medium as the initramfs mounts it: the tree an ISO build makes, written to a directory under --root.
using System.Text.Json.Nodes;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.Firstboot.Tests.Support;

/// <summary>
/// Lays out <c>/run/appliance/medium</c> below a device prefix as the ISO carries it: <c>appliance/root.squashfs</c>
/// (root-a's SquashFS, cut out of the raw image), <c>appliance/boot/</c> (the boot partition's files and the build
/// manifest) and <c>appliance/install/</c> from <see cref="IsoInstallPayload.AddTo"/>, and writes the kernel command
/// line with <c>appliance.mode=MODE</c>.
/// </summary>
public static class TestMedium
{
    /// <summary>Where the build manifest goes on the medium.</summary>
    public const string ManifestPath = "appliance/boot/shop-042.manifest.json";

    /// <summary>Writes the medium of <paramref name="image"/> (made by <see cref="TestDisk.BuildImage"/>) under <paramref name="paths"/>.</summary>
    public static InstallPayload Write(string image, DiskImageResult result, FileTree boot, FirstbootPaths paths, long minimumDiskSize, string mode)
    {
        var tree = new FileTree(TestDisk.Epoch);
        var rootA = result["root-a"];
        tree.AddFile(IsoInstallPayload.RootPath, FileContent.FromHostFile(image, rootA.Offset, rootA.ContentBytes));
        foreach (var node in boot.Walk().Where(n => n.Type == FileNodeType.File))
            tree.AddFile("appliance/boot/" + node.Path, node.Content!);
        // The manifest's partitions as the build writes them (ImageOutputs): offset, size and the digest of each.
        var manifest = new JsonObject
        {
            ["name"] = "shop-042", ["image"] = "shop-042.img", ["size"] = result.Size,
            ["partitions"] = new JsonArray(result.Partitions.Select(p => (JsonNode)new JsonObject
            {
                ["number"] = p.Number, ["name"] = p.Name, ["offset"] = p.Offset, ["size"] = p.Size, ["contentBytes"] = p.ContentBytes,
                ["sha256"] = p.Sha256 is { } d ? Convert.ToHexStringLower(d) : null,
            }).ToArray()),
        };
        tree.AddFile(ManifestPath, System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        var payload = IsoInstallPayload.AddTo(tree, image, result, minimumDiskSize, TestDisk.Epoch, ManifestPath);
        foreach (var node in tree.Walk().Where(n => n.Type == FileNodeType.File))
        {
            var file = Path.Combine(paths.Medium, node.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            using var from = node.Content!.OpenRead();
            using var to = File.Create(file);
            from.CopyTo(to);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(paths.CmdLine)!);
        File.WriteAllText(paths.CmdLine, $"console=ttyS0 appliance.mode={mode}\n");
        return payload;
    }

    /// <summary>SHA-256 of every file below the medium, with its mode and time: to show nothing on it changed.</summary>
    public static string Fingerprint(FirstbootPaths paths) => string.Join("\n",
        Directory.EnumerateFiles(paths.Medium, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f =>
            $"{Path.GetRelativePath(paths.Medium, f)} {File.GetUnixFileMode(f)} {File.GetLastWriteTimeUtc(f):O} " +
            Convert.ToHexStringLower(Appliance.Common.FileSha256.Hash(f))));
}
