// Reads a host directory into a FileTree with lstat metadata, xattrs and hard links found by (device, inode).
using System.IO.Enumeration;

namespace Appliance.ImageBuilder.Disk.Tree;

internal static class HostDirectoryReader
{
    private const int S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

    // Every entry, hidden or not, and fail on an unreadable directory (as Directory.EnumerateFileSystemEntries does).
    private static readonly EnumerationOptions AllEntries = new() { AttributesToSkip = 0, IgnoreInaccessible = false };

    public static FileTree Read(string root, FileTreeOptions o)
    {
        root = Path.GetFullPath(root);
        var st = Native.LStat(root);
        if ((st.Mode & S_IFMT) != S_IFDIR) throw new DirectoryNotFoundException($"{root} is not a directory");
        var tree = new FileTree(Clamp(st.MTime, o));
        Apply(tree.Root, st, root, o);
        var links = new Dictionary<(uint, uint, ulong), FileNode>();
        var pending = new Stack<(string host, string rel)>();
        pending.Push((root, ""));
        while (pending.Count > 0)
        {
            var (host, rel) = pending.Pop();
            var names = new FileSystemEnumerable<string>(host, (ref FileSystemEntry e) => e.FileName.ToString(), AllEntries).ToList();
            names.Sort(NameOrder.Instance);
            var subdirs = new List<(string, string)>();
            foreach (var name in names)
            {
                string hp = Path.Combine(host, name), rp = rel.Length == 0 ? name : rel + "/" + name;
                var s = Native.LStat(hp);
                int fmt = s.Mode & S_IFMT;
                FileNode node;
                if (fmt != S_IFDIR && s.Nlink > 1 && links.TryGetValue((s.DevMajor, s.DevMinor, s.Ino), out var first))
                {
                    tree.AddHardLink(rp, first);
                    continue;
                }
                switch (fmt)
                {
                    case S_IFDIR:
                        node = tree.AddDirectory(rp);
                        subdirs.Add((hp, rp));
                        break;
                    case S_IFREG:
                        node = tree.AddFile(rp, new HostFileContent(hp, 0, s.Size)); // hp is already a full path
                        break;
                    case S_IFLNK:
                        node = tree.AddSymlink(rp, new FileInfo(hp).LinkTarget ?? throw new IOException($"{hp}: cannot read the symlink"));
                        break;
                    case S_IFCHR:
                    case S_IFBLK:
                        node = tree.AddSpecial(rp, fmt == S_IFCHR ? FileNodeType.CharDevice : FileNodeType.BlockDevice, 0, (int)s.RdevMajor, (int)s.RdevMinor);
                        break;
                    case S_IFIFO:
                        node = tree.AddSpecial(rp, FileNodeType.Fifo);
                        break;
                    case S_IFSOCK:
                        node = tree.AddSpecial(rp, FileNodeType.Socket);
                        break;
                    default:
                        throw new IOException($"{hp}: unknown file type 0x{fmt:x}");
                }
                Apply(node, s, hp, o);
                if (fmt != S_IFDIR && s.Nlink > 1) links[(s.DevMajor, s.DevMinor, s.Ino)] = node;
            }
            for (int i = subdirs.Count - 1; i >= 0; i--) pending.Push(subdirs[i]);
        }
        return tree;
    }

    private static void Apply(FileNode node, HostStat s, string hostPath, FileTreeOptions o)
    {
        node.Mode = s.Mode & 0xFFF;
        node.Uid = o.Uid ?? s.Uid;
        node.Gid = o.Gid ?? s.Gid;
        node.MTime = Clamp(s.MTime, o);
        if (o.ReadXattrs)
            foreach (var (k, v) in Native.ListXattrs(hostPath)) node.Xattrs[k] = v;
    }

    private static long Clamp(long t, FileTreeOptions o) => o.SourceDateEpoch is { } e && t > e ? e : t;
}
