// Reads a host directory into a FileTree with lstat metadata, xattrs and hard links found by (device, inode).
using System.IO.Enumeration;

namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>
/// Two passes. The first lists directories and lstats their entries on up to four threads (most of the time goes to
/// these system calls); the second builds the tree from what was read, depth-first in <see cref="NameOrder"/> on one thread,
/// so the tree (which name of a hard-linked file comes first) and the error reported do not depend on thread timing.
/// </summary>
internal static class HostDirectoryReader
{
    private const int S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

    // Every entry, hidden or not, and fail on an unreadable directory (as Directory.EnumerateFileSystemEntries does).
    private static readonly EnumerationOptions AllEntries = new() { AttributesToSkip = 0, IgnoreInaccessible = false };

    /// <summary>One directory as the first pass read it: its entries in name order, or why it could not be read.</summary>
    private sealed class Listing(string host)
    {
        public readonly string Host = host;
        public Entry[] Entries = [];
        public Exception? Error;
    }

    private readonly record struct Entry(string Name, string HostPath, HostStat Stat, string? LinkTarget,
        SortedDictionary<string, byte[]>? Xattrs, Listing? Directory);

    public static FileTree Read(string root, FileTreeOptions o)
    {
        root = Path.GetFullPath(root);
        var st = Native.LStat(root);
        if ((st.Mode & S_IFMT) != S_IFDIR) throw new DirectoryNotFoundException($"{root} is not a directory");
        var top = new Listing(root);
        ReadAll(top, o);

        var tree = new FileTree(Clamp(st.MTime, o));
        Apply(tree.Root, st, o.ReadXattrs ? Native.ListXattrs(root) : null, o);
        var links = new Dictionary<(uint, uint, ulong), FileNode>();
        var pending = new Stack<(Listing dir, FileNode node)>();
        pending.Push((top, tree.Root));
        while (pending.Count > 0)
        {
            var (dir, parent) = pending.Pop();
            if (dir.Error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(dir.Error);
            var subdirs = new List<(Listing, FileNode)>();
            foreach (var e in dir.Entries)
            {
                var s = e.Stat;
                int fmt = s.Mode & S_IFMT;
                if (fmt != S_IFDIR && s.Nlink > 1 && links.TryGetValue((s.DevMajor, s.DevMinor, s.Ino), out var first))
                {
                    tree.AddHardLink(parent, e.Name, first);
                    continue;
                }
                FileNode node = fmt switch
                {
                    S_IFDIR => tree.AddDirectory(parent, e.Name),
                    S_IFREG => tree.AddFile(parent, e.Name, new HostFileContent(e.HostPath, 0, s.Size)), // already a full path
                    S_IFLNK => tree.AddSymlink(parent, e.Name, e.LinkTarget!),
                    S_IFCHR or S_IFBLK => tree.AddSpecial(parent, e.Name, fmt == S_IFCHR ? FileNodeType.CharDevice : FileNodeType.BlockDevice,
                        (int)s.RdevMajor, (int)s.RdevMinor),
                    S_IFIFO => tree.AddSpecial(parent, e.Name, FileNodeType.Fifo, 0, 0),
                    S_IFSOCK => tree.AddSpecial(parent, e.Name, FileNodeType.Socket, 0, 0),
                    _ => throw new IOException($"{e.HostPath}: unknown file type 0x{fmt:x}"),
                };
                Apply(node, s, e.Xattrs, o);
                if (e.Directory != null) subdirs.Add((e.Directory, node));
                if (fmt != S_IFDIR && s.Nlink > 1) links[(s.DevMajor, s.DevMinor, s.Ino)] = node;
            }
            for (int i = subdirs.Count - 1; i >= 0; i--) pending.Push(subdirs[i]);
        }
        return tree;
    }

    /// <summary>The first pass: fills every listing under <paramref name="top"/>, on up to four threads.</summary>
    private static void ReadAll(Listing top, FileTreeOptions o)
    {
        var queue = new Stack<Listing>();
        queue.Push(top);
        int busy = 0;
        var gate = new object();
        void Work()
        {
            var found = new List<Listing>();
            while (true)
            {
                Listing next;
                lock (gate)
                {
                    while (queue.Count == 0 && busy > 0) Monitor.Wait(gate);
                    if (queue.Count == 0) { Monitor.PulseAll(gate); return; }
                    next = queue.Pop();
                    busy++;
                }
                found.Clear();
                try { Fill(next, o, found); }
                catch (Exception e) { next.Error = e; } // reported when the second pass reaches this directory
                lock (gate)
                {
                    foreach (var d in found) queue.Push(d);
                    busy--;
                    Monitor.PulseAll(gate);
                }
            }
        }
        int helpers = Math.Clamp(Environment.ProcessorCount, 1, 4) - 1;
        var threads = new Thread[helpers];
        for (int i = 0; i < helpers; i++) { threads[i] = new Thread(Work) { IsBackground = true, Name = "tree scan" }; threads[i].Start(); }
        Work();
        foreach (var t in threads) t.Join();
    }

    private static void Fill(Listing dir, FileTreeOptions o, List<Listing> found)
    {
        var names = new FileSystemEnumerable<string>(dir.Host, (ref FileSystemEntry e) => e.FileName.ToString(), AllEntries).ToList();
        names.Sort(NameOrder.Instance);
        var entries = new Entry[names.Count];
        for (int i = 0; i < names.Count; i++)
        {
            string hp = Path.Combine(dir.Host, names[i]);
            var s = Native.LStat(hp);
            int fmt = s.Mode & S_IFMT;
            string? target = fmt == S_IFLNK ? new FileInfo(hp).LinkTarget ?? throw new IOException($"{hp}: cannot read the symlink") : null;
            Listing? sub = fmt == S_IFDIR ? new Listing(hp) : null;
            if (sub != null) found.Add(sub);
            entries[i] = new Entry(names[i], hp, s, target, o.ReadXattrs ? Native.ListXattrs(hp) : null, sub);
        }
        dir.Entries = entries;
    }

    private static void Apply(FileNode node, HostStat s, SortedDictionary<string, byte[]>? xattrs, FileTreeOptions o)
    {
        node.Mode = s.Mode & 0xFFF;
        node.Uid = o.Uid ?? s.Uid;
        node.Gid = o.Gid ?? s.Gid;
        node.MTime = Clamp(s.MTime, o);
        if (xattrs != null)
            foreach (var (k, v) in xattrs) node.Xattrs[k] = v;
    }

    private static long Clamp(long t, FileTreeOptions o) => o.SourceDateEpoch is { } e && t > e ? e : t;
}
