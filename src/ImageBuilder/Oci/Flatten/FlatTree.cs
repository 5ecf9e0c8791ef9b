// The result of flattening an image's layers: a root directory node and the spool file that backs some contents.
namespace Appliance.ImageBuilder.Oci.Flatten;

/// <summary>A flattened root file system. Dispose it to delete the spool file.</summary>
public sealed class FlatTree : IDisposable
{
    internal FlatTree(FsNode root, string? spoolPath)
    {
        Root = root;
        SpoolPath = spoolPath;
    }

    /// <summary>The root directory.</summary>
    public FsNode Root { get; }

    /// <summary>The spool file holding contents from compressed layers, if any.</summary>
    public string? SpoolPath { get; }

    /// <summary>Looks up a path ("a/b/c", no leading slash); null when missing. Symlinks are not followed.</summary>
    public FsNode? Find(string path)
    {
        var node = Root;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node.Children is null || !node.Children.TryGetValue(part, out var next))
                return null;
            node = next;
        }
        return node;
    }

    /// <summary>Every path below the root, depth first, entries in ordinal order ("" is the root itself).</summary>
    public IEnumerable<(string Path, FsNode Node)> Walk()
    {
        var stack = new Stack<(string, FsNode)>();
        stack.Push(("", Root));
        while (stack.Count > 0)
        {
            var (path, node) = stack.Pop();
            yield return (path, node);
            if (node.Children is { } c)
                foreach (var (name, child) in c.Reverse())
                    stack.Push((path.Length == 0 ? name : path + "/" + name, child));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (SpoolPath != null && File.Exists(SpoolPath))
            File.Delete(SpoolPath);
    }
}
