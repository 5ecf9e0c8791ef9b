// Turns a flattened OCI image tree into the disk writers' input tree, keeping modes, owners, xattrs and hard links.
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Oci.Flatten;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// Converts <see cref="FlatTree"/> (the flattened image) to <see cref="FileTree"/> (the input of the SquashFS and other
/// writers). It lives with the build because it joins two libraries that do not know each other (Oci and Disk).
/// </summary>
public static class FlatTreeConverter
{
    /// <summary>
    /// Converts <paramref name="flat"/>. The root and every node keep their permission bits, owner, modification time and
    /// xattrs. A node reached by several names becomes one file at its first name in the flat tree's walk order (ordinal,
    /// depth first) and hard links at the others; the writers resolve links to their inode, so which name comes first does
    /// not change their output. File bytes stay where the flattener put them (a layer blob or the spool file), so keep
    /// <paramref name="flat"/> undisposed until the tree is written. Timestamps are not clamped here: the caller clamps
    /// the finished tree (<see cref="FileTree.ClampTimestamps"/>), after adding its own files.
    /// </summary>
    /// <param name="flat">The flattened image.</param>
    /// <param name="defaultMTime">The tree's default modification time, for files added later without one.</param>
    public static FileTree Convert(FlatTree flat, long defaultMTime)
    {
        var tree = new FileTree(defaultMTime);
        var firstName = new Dictionary<FsNode, FileNode>(ReferenceEqualityComparer.Instance);
        foreach (var (path, node) in flat.Walk())
        {
            long mtime = node.ModificationTime.ToUnixTimeSeconds();
            if (path.Length == 0)
            {
                var root = tree.Root;
                root.Mode = node.Mode & 0xFFF; root.Uid = node.Uid; root.Gid = node.Gid; root.MTime = mtime;
                CopyXattrs(node, root);
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
                FsNodeKind.Symlink => tree.AddSymlink(path, node.LinkTarget ?? throw new InvalidDataException($"/{path}: symlink without a target"), node.Uid, node.Gid, mtime),
                FsNodeKind.CharDevice => tree.AddSpecial(path, FileNodeType.CharDevice, node.Mode & 0xFFF, node.DeviceMajor, node.DeviceMinor, node.Uid, node.Gid, mtime),
                FsNodeKind.BlockDevice => tree.AddSpecial(path, FileNodeType.BlockDevice, node.Mode & 0xFFF, node.DeviceMajor, node.DeviceMinor, node.Uid, node.Gid, mtime),
                FsNodeKind.Fifo => tree.AddSpecial(path, FileNodeType.Fifo, node.Mode & 0xFFF, 0, 0, node.Uid, node.Gid, mtime),
                _ => throw new InvalidDataException($"/{path}: unsupported file kind {node.Kind}"),
            };
            CopyXattrs(node, added);
            if (node.Kind != FsNodeKind.Directory) firstName[node] = added;
        }
        return tree;
    }

    private static void CopyXattrs(FsNode from, FileNode to)
    {
        foreach (var (k, v) in from.Xattrs) to.Xattrs[k] = v;
    }
}
