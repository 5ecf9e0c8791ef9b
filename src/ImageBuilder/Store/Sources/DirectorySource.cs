// An OCI image layout directory as an image source; symlinks are refused so nothing outside the directory is read.
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Store.Sources;

/// <summary>Files of an OCI layout directory.</summary>
public sealed class DirectorySource(string root, string displayName) : ImageSource
{
    private readonly string _root = Path.GetFullPath(root);

    /// <inheritdoc />
    public override string DisplayName { get; } = displayName;

    private string Resolve(string path)
    {
        var rel = EntryName.Normalize(path, DisplayName);
        var full = _root;
        foreach (var part in rel.Split('/'))
        {
            full = Path.Combine(full, part);
            var info = new FileInfo(full);
            if (info.Exists || Directory.Exists(full))
                if (info.LinkTarget != null || new DirectoryInfo(full).LinkTarget != null)
                    throw new InvalidDataException($"{DisplayName}: '{rel}' goes through a symbolic link ({Path.GetRelativePath(_root, full)}), which a layout directory may not contain");
        }
        return full;
    }

    /// <inheritdoc />
    public override bool Exists(string path) => File.Exists(Resolve(path));

    /// <inheritdoc />
    public override long Length(string path) => new FileInfo(Resolve(path)).Length;

    /// <inheritdoc />
    public override Stream Open(string path) =>
        new FileStream(Resolve(path), FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
}
