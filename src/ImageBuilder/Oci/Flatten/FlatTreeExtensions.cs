// Turns a flattened image into the Disk writers' FileTree: same metadata, hard links kept, contents read on demand.
using Appliance.ImageBuilder.Disk.Tree;
using DiskContent = Appliance.ImageBuilder.Disk.Tree.FileContent;

namespace Appliance.ImageBuilder.Oci.Flatten;

/// <summary>Adapts a <see cref="FlatTree"/> to <see cref="FileTree"/>, the input of the SquashFS and other writers.</summary>
public static class FlatTreeExtensions
{
    /// <summary>
    /// Builds a <see cref="FileTree"/>. The first name (in walk order) of a multiply-linked node becomes the file;
    /// later names become hard links to it. File contents stay where the flattener put them (the layer blob or the
    /// spool), so keep <paramref name="flat"/> undisposed while the result is written.
    /// When <paramref name="sourceDateEpoch"/> is set, later modification times are clamped to it.
    /// </summary>
    public static FileTree ToFileTree(this FlatTree flat, long? sourceDateEpoch = null)
    {
        var tree = new FileTree(sourceDateEpoch ?? 0);
        var first = new Dictionary<FsNode, FileNode>(ReferenceEqualityComparer.Instance);
        SetMeta(tree.Root, flat.Root);
        foreach (var (path, node) in flat.Walk().Skip(1).OrderBy(w => w.Path, new PathOrder()))
        {
            if (node.Kind != FsNodeKind.Directory && first.TryGetValue(node, out var inode))
            {
                tree.AddHardLink(path, inode);
                continue;
            }
            long mtime = node.ModificationTime.ToUnixTimeSeconds();
            FileNode added = node.Kind switch
            {
                FsNodeKind.Directory => tree.AddDirectory(path, node.Mode, node.Uid, node.Gid, mtime),
                FsNodeKind.File => tree.AddFile(path, node.Content is { } c ? DiskContent.FromHostFile(c.Path, c.Offset, c.Length) : DiskContent.FromBytes([]),
                    node.Mode, node.Uid, node.Gid, mtime),
                FsNodeKind.Symlink => tree.AddSymlink(path, node.LinkTarget ?? "", node.Uid, node.Gid, mtime),
                _ => tree.AddSpecial(path, node.Kind switch
                {
                    FsNodeKind.CharDevice => FileNodeType.CharDevice,
                    FsNodeKind.BlockDevice => FileNodeType.BlockDevice,
                    _ => FileNodeType.Fifo,
                }, node.Mode, node.DeviceMajor, node.DeviceMinor, node.Uid, node.Gid, mtime),
            };
            foreach (var (k, v) in node.Xattrs)
                added.Xattrs[k] = v;
            if (node.Kind != FsNodeKind.Directory)
                first[node] = added;
        }
        if (sourceDateEpoch is { } epoch)
            tree.ClampTimestamps(epoch);
        return tree;
    }

    private static void SetMeta(FileNode to, FsNode from)
    {
        to.Mode = from.Mode;
        to.Uid = from.Uid;
        to.Gid = from.Gid;
        to.MTime = from.ModificationTime.ToUnixTimeSeconds();
        foreach (var (k, v) in from.Xattrs)
            to.Xattrs[k] = v;
    }

    /// <summary>Orders paths segment by segment in <see cref="NameOrder"/>: the depth-first order the disk writers use.</summary>
    private sealed class PathOrder : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            var a = (x ?? "").Split('/');
            var b = (y ?? "").Split('/');
            for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var c = NameOrder.Instance.Compare(a[i], b[i]);
                if (c != 0)
                    return c;
            }
            return a.Length.CompareTo(b.Length);
        }
    }
}
