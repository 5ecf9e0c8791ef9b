// Read access to the flattened OS tree that boot targets take their kernel, modules and firmware from.
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Boot;

/// <summary>
/// A view of the root file system tree that follows symlinks the way the kernel would
/// (relative and absolute targets, at most 40 hops), so merged-/usr paths such as
/// <c>lib/modules</c> resolve whether or not <c>/lib</c> is a link.
/// </summary>
public sealed class RootFs(FileTree tree, string description)
{
    /// <summary>The tree.</summary>
    public FileTree Tree => tree;

    /// <summary>What the tree is, for messages (for example "OS image appliance/os-debian:bookworm-arm64").</summary>
    public string Description => description;

    /// <summary>The node at <paramref name="path"/> after following symlinks, or null.</summary>
    public FileNode? Find(string path)
    {
        var hops = 0;
        return Walk(tree.Root, path.Split('/', StringSplitOptions.RemoveEmptyEntries), true, ref hops);
    }

    private FileNode? Walk(FileNode start, IEnumerable<string> parts, bool followLast, ref int hops)
    {
        var node = start;
        var list = parts.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var part = list[i];
            if (part == ".") continue;
            if (part == "..") { node = node.Parent ?? node; continue; }
            var child = node.Child(part);
            if (child is null) return null;
            if (child.Type == FileNodeType.Symlink && (i < list.Count - 1 || followLast))
            {
                if (++hops > 40) return null;
                var target = child.LinkTarget!;
                var from = target.StartsWith('/') ? tree.Root : node;
                child = Walk(from, target.Split('/', StringSplitOptions.RemoveEmptyEntries), true, ref hops);
                if (child is null) return null;
            }
            node = child.Inode;
        }
        return node;
    }

    /// <summary>The regular file at <paramref name="path"/>; throws with a clear message when absent.</summary>
    public FileNode File(string path, string what)
    {
        var node = Find(path);
        if (node is null || node.Type != FileNodeType.File)
            throw new InvalidDataException($"{description} has no {what} (/{path.TrimStart('/')})");
        return node;
    }

    /// <summary>The bytes of the regular file at <paramref name="path"/>.</summary>
    public byte[] ReadAllBytes(string path, string what)
    {
        var node = File(path, what);
        using var s = node.Content!.OpenRead();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>The names in the directory at <paramref name="path"/> (sorted), or none.</summary>
    public IReadOnlyList<string> List(string path)
    {
        var node = Find(path);
        return node is { Type: FileNodeType.Directory } ? node.Children.Select(c => c.Name).ToList() : [];
    }
}
