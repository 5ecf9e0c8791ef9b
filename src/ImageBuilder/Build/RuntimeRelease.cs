// Build step 1b: the runtime release (appliance/runtime:VERSION) for the board's platform, flattened, its files hashed.
using System.Text.Json;
using Appliance.Common;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Flatten;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Store;

namespace Appliance.ImageBuilder.Build;

/// <summary>One file of the runtime release, as root-a gets it at <c>/usr/lib/appliance/NAME</c>.</summary>
/// <param name="Name">The file name (<c>appliance-runtime</c>, <c>appliance-firstboot</c>, <c>libe_sqlite3.so</c>).</param>
/// <param name="Content">Where its bytes are (a store blob or the flattener's spool).</param>
/// <param name="Mode">Its permission bits.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of its bytes (the SBOM and the provenance name it by this).</param>
public sealed record RuntimeFile(string Name, Disk.Tree.FileContent Content, int Mode, string Sha256);

/// <summary>
/// The runtime release an image carries: the platform's manifest of <c>appliance/runtime:VERSION</c> (kits/runtime/publish.sh
/// writes it), flattened. Every file of its <c>usr/lib/appliance/</c> goes into root-a there. Holds the flattened layer's
/// spool file until disposed, so keep it until root-a is written.
/// </summary>
public sealed class RuntimeRelease : IDisposable
{
    /// <summary>The directory of the release in its image and in root-a.</summary>
    public const string Directory = "usr/lib/appliance";

    /// <summary>The store name of a release version: <c>runtime.version</c> V (a leading 'v' dropped) names <c>appliance/runtime:V</c>.</summary>
    public static string ReferenceOf(string version) => "appliance/runtime:" + (version.StartsWith('v') ? version[1..] : version);

    private static readonly string[] Programs = ["appliance-runtime", "appliance-firstboot"];
    private readonly FlatTree _flat;

    private RuntimeRelease(FlatTree flat, string reference, string digest, string version, IReadOnlyList<RuntimeFile> files)
    {
        _flat = flat;
        Reference = reference;
        Digest = digest;
        Version = version;
        Files = files;
    }

    /// <summary>The store reference the profile named.</summary>
    public string Reference { get; }

    /// <summary>The manifest digest (<c>sha256:...</c>) for the board's platform.</summary>
    public string Digest { get; }

    /// <summary>The version the programs print (the config's <c>org.opencontainers.image.version</c>, else the tag).</summary>
    public string Version { get; }

    /// <summary>The files, sorted by name; <c>appliance-runtime</c> and <c>appliance-firstboot</c> are among them.</summary>
    public IReadOnlyList<RuntimeFile> Files { get; }

    /// <summary>
    /// Resolves the profile's runtime for <paramref name="platform"/> and flattens it under <paramref name="workDirectory"/>;
    /// null when the profile says <c>runtime.absent: true</c>. A release missing from the store, or without the platform,
    /// stops the build with what to add.
    /// </summary>
    public static RuntimeRelease? Load(ContentStore store, RuntimeSpec spec, Platform platform, string profileFile, string board, string workDirectory)
    {
        if (spec.Absent == true)
            return null;
        var (field, reference) = spec.Image is { } image ? ("runtime.image", image) : ("runtime.version", ReferenceOf(spec.Version ?? ""));
        ResolvedImage resolved;
        try
        {
            resolved = store.Resolve(reference, platform);
        }
        catch (UserInputException e)
        {
            throw new UserInputException($"{profileFile}: {field} names {reference}, which the content store does not hold ({e.Message}): {Publish(platform)}");
        }
        catch (PlatformNotFoundException e)
        {
            throw new UserInputException($"{profileFile}: the content store's {reference} has no {platform}, which target.board {board} runs ({e.Message}): {Publish(platform)}");
        }
        var flat = store.Flatten(resolved, workDirectory);
        try
        {
            var display = $"{reference} ({resolved.Manifest.Digest}, {platform})";
            var files = Collect(flat, display);
            return new RuntimeRelease(flat, reference, resolved.Manifest.Digest, VersionOf(store, resolved, reference), files);
        }
        catch
        {
            flat.Dispose();
            throw;
        }
    }

    /// <summary>What to do when the store lacks the release for <paramref name="platform"/>.</summary>
    private static string Publish(Platform platform) => platform.Variant is { Length: > 0 }
        ? $"publish the release for {platform} on a machine that has the .NET linux-arm runtime and ILCompiler packs "
          + "(bash kits/runtime/publish.sh amd64 arm64 armv7, kits/runtime/README.md), add its archive with 'appliance store add', "
          + "or build this site without the runtime (runtime.absent: true)"
        : $"publish it with 'bash kits/runtime/publish.sh --store STORE' (kits/runtime/README.md), which adds linux/amd64 and linux/arm64";

    private static List<RuntimeFile> Collect(FlatTree flat, string display)
    {
        var dir = flat.Find(Directory);
        if (dir?.Children is not { } children)
            throw new UserInputException($"runtime image {display} has no /{Directory}: it is not a release made by kits/runtime/publish.sh");
        var files = new List<RuntimeFile>();
        foreach (var (name, node) in children)
        {
            if (node.Kind != FsNodeKind.File)
                throw new UserInputException($"runtime image {display}: /{Directory}/{name} is a {node.Kind}; a release holds plain files only");
            var content = node.Content is { } c
                ? Disk.Tree.FileContent.FromHostFile(c.Path, c.Offset, c.Length)
                : Disk.Tree.FileContent.FromBytes([]);
            var sha = node.Content is { } h ? FileSha256.Hash(h.Path, h.Offset, h.Length) : System.Security.Cryptography.SHA256.HashData([]);
            files.Add(new RuntimeFile(name, content, node.Mode & 0xFFF, Convert.ToHexStringLower(sha)));
        }
        foreach (var program in Programs)
            if (!files.Any(f => f.Name == program))
                throw new UserInputException($"runtime image {display} has no /{Directory}/{program}");
        return files;
    }

    /// <summary>The config's <c>org.opencontainers.image.version</c> label (what the programs print), else the tag.</summary>
    private static string VersionOf(ContentStore store, ResolvedImage image, string reference)
    {
        var config = store.ReadBlob(image.ManifestDocument.Config!, reference + " config");
        using var doc = JsonDocument.Parse(config);
        return doc.RootElement.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object
               && c.TryGetProperty("Labels", out var labels) && labels.ValueKind == JsonValueKind.Object
               && labels.TryGetProperty("org.opencontainers.image.version", out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : ImageReference.Parse(reference).Tag ?? reference;
    }

    /// <inheritdoc/>
    public void Dispose() => _flat.Dispose();
}
