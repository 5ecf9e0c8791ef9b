// Turns a flattened OCI image tree into the disk writers' input tree, keeping modes, owners, xattrs and hard links.
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Oci.Flatten;

namespace Appliance.ImageBuilder.Build;

/// <summary>Converts <see cref="FlatTree"/> (store) to <see cref="FileTree"/> (disk writers); file bytes stay where they are.</summary>
public static class FlatTreeConverter
{
    /// <summary>Converts <paramref name="flat"/>; a node reached by several names becomes one file and hard links.</summary>
    public static FileTree Convert(FlatTree flat, long defaultMTime)
    {
        var tree = new FileTree(defaultMTime);
        var firstName = new Dictionary<FsNode, FileNode>(ReferenceEqualityComparer.Instance);
        foreach (var (path, node) in flat.Walk())
        {
            long mtime = node.ModificationTime.ToUnixTimeSeconds();
            if (path.Length == 0)
            {
                tree.Root.Mode = node.Mode & 0xFFF; tree.Root.MTime = mtime;
                continue;
            }
            if (node.Kind != FsNodeKind.Directory && firstName.TryGetValue(node, out var first))
            {
                tree.AddHardLink(path, first);
                continue;
            }
            FileNode added = node.Kind switch
            {
                FsNodeKind.Directory => tree.AddDirectory(path, node.Mode & 0xFFF, node.Uid, node.Gid, mtime),
                FsNodeKind.File => tree.AddFile(path,
                    node.Content is { } c ? Disk.Tree.FileContent.FromHostFile(c.Path, c.Offset, c.Length) : Disk.Tree.FileContent.FromBytes([]),
                    node.Mode & 0xFFF, node.Uid, node.Gid, mtime),
                FsNodeKind.Symlink => tree.AddSymlink(path, node.LinkTarget!, node.Uid, node.Gid, mtime),
                FsNodeKind.CharDevice => tree.AddSpecial(path, FileNodeType.CharDevice, node.Mode & 0xFFF, node.DeviceMajor, node.DeviceMinor, node.Uid, node.Gid, mtime),
                FsNodeKind.BlockDevice => tree.AddSpecial(path, FileNodeType.BlockDevice, node.Mode & 0xFFF, node.DeviceMajor, node.DeviceMinor, node.Uid, node.Gid, mtime),
                FsNodeKind.Fifo => tree.AddSpecial(path, FileNodeType.Fifo, node.Mode & 0xFFF, 0, 0, node.Uid, node.Gid, mtime),
                _ => throw new InvalidDataException($"/{path}: unsupported file kind {node.Kind}"),
            };
            foreach (var (k, v) in node.Xattrs) added.Xattrs[k] = v;
            if (node.Kind != FsNodeKind.Directory) firstName[node] = added;
        }
        return tree;
    }
}
