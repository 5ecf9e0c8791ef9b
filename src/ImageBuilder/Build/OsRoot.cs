// Build step 1: the OS image for the board's platform, flattened into the root tree, with its kernel and packages.
using System.Text;
using System.Text.Json;
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Flatten;
using Appliance.ImageBuilder.Signing.Sbom;
using Appliance.ImageBuilder.Store;
using RootFs = Appliance.ImageBuilder.Boot.RootFs;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// The flattened OS image: the root tree (timestamps clamped to the build's epoch) the later steps add to, the one
/// kernel it carries and its installed packages. Holds the flattened layers' spool files until disposed.
/// </summary>
public sealed class OsRoot : IDisposable
{
    private readonly FlatTree _flat;

    private OsRoot(FlatTree flat, ResolvedImage image, FileTree tree, RootFs fs, KernelInfo kernel, IReadOnlyList<DebianPackage> packages)
    {
        _flat = flat;
        Image = image;
        Tree = tree;
        Fs = fs;
        Kernel = kernel;
        Packages = packages;
    }

    /// <summary>The OS image's manifest for the platform.</summary>
    public ResolvedImage Image { get; }

    /// <summary>The root tree: the OS image, to which the root payload is added.</summary>
    public FileTree Tree { get; }

    /// <summary>The tree as boot targets read it (symlinks followed).</summary>
    public RootFs Fs { get; }

    /// <summary>The OS image's kernel.</summary>
    public KernelInfo Kernel { get; }

    /// <summary>The installed Debian packages (for the SBOM).</summary>
    public IReadOnlyList<DebianPackage> Packages { get; }

    /// <summary>Finds <paramref name="osImage"/> for <paramref name="platform"/>; an image without that platform is the profile's error.</summary>
    public static ResolvedImage Resolve(ContentStore store, string osImage, Platform platform, string profileFile, string board)
    {
        try
        {
            return store.Resolve(osImage, platform);
        }
        catch (PlatformNotFoundException e)
        {
            throw new UserInputException($"{profileFile}: target.board {board} runs {platform}, but os.image {osImage} does not provide it: {e.Message}");
        }
    }

    /// <summary>The OS image's creation time (its config's <c>created</c>), the default SOURCE_DATE_EPOCH; 0 when it has none.</summary>
    public static long CreatedOf(ContentStore store, ResolvedImage os)
    {
        var config = store.ReadBlob(os.ManifestDocument.Config!, "OS image config");
        using var doc = JsonDocument.Parse(config);
        return doc.RootElement.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.String
               && DateTimeOffset.TryParse(c.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeSeconds()
            : 0;
    }

    /// <summary>Flattens <paramref name="image"/> (spooling file contents under <paramref name="workDirectory"/>) and finds its kernel and packages.</summary>
    public static OsRoot Load(ContentStore store, ResolvedImage image, string osImage, long sourceDateEpoch, string workDirectory)
    {
        var flat = store.Flatten(image, workDirectory);
        try
        {
            var tree = FlatTreeConverter.Convert(flat, sourceDateEpoch);
            tree.ClampTimestamps(sourceDateEpoch);
            var fs = new RootFs(tree, $"OS image {osImage} ({image.Manifest.Digest})");
            var kernel = KernelInfo.Find(fs);
            var packages = OsPackages(flat, osImage, image.Manifest.Digest);
            return new OsRoot(flat, image, tree, fs, kernel, packages);
        }
        catch
        {
            flat.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _flat.Dispose();

    /// <summary>The installed packages of the flattened OS image, from its <c>var/lib/dpkg/status</c> (for the SBOM).</summary>
    private static IReadOnlyList<DebianPackage> OsPackages(FlatTree flat, string osImage, string digest)
    {
        const string status = "var/lib/dpkg/status";
        var node = flat.Find(status);
        if (node is null || node.Kind != FsNodeKind.File)
            throw new UserInputException($"OS image {osImage} ({digest}) has no /{status}: the SBOM cannot list its packages (the kit writes it)");
        byte[] bytes = [];
        if (node.Content is { } c)
        {
            bytes = new byte[c.Length];
            using var f = new FileStream(c.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            f.Position = c.Offset;
            f.ReadExactly(bytes);
        }
        using var reader = new StringReader(Encoding.UTF8.GetString(bytes));
        try
        {
            return DpkgStatus.ParseInstalled(reader, $"OS image {osImage}: /{status}");
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException(e.Message);
        }
    }
}
