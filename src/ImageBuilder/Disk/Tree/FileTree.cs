// The input tree every disk writer consumes: sorted entries with POSIX metadata and streamed content.
namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>
/// An in-memory description of a file system tree (metadata only; file content is read on demand).
/// Paths are '/'-separated and relative to the root; a leading '/' is ignored. Parent directories
/// that do not exist yet are created with <see cref="DefaultDirectoryMode"/>, owner 0:0 and <see cref="DefaultMTime"/>.
/// </summary>
public sealed class FileTree
{
    /// <summary>Creates an empty tree whose root directory has mode 0755 and owner 0:0.</summary>
    public FileTree(long defaultMTime = 0)
    {
        DefaultMTime = defaultMTime;
        Root = new FileNode("", FileNodeType.Directory, null) { Mode = DefaultDirectoryMode, MTime = defaultMTime };
    }

    /// <summary>The root directory.</summary>
    public FileNode Root { get; }

    /// <summary>The modification time given to directories created implicitly.</summary>
    public long DefaultMTime { get; set; }

    /// <summary>The mode given to directories created implicitly.</summary>
    public const int DefaultDirectoryMode = 0b111_101_101;

    /// <summary>Adds (or replaces the metadata of) a directory.</summary>
    public FileNode AddDirectory(string path, int mode = DefaultDirectoryMode, int uid = 0, int gid = 0, long? mtime = null)
    {
        var node = EnsureDirectory(Split(path), path);
        node.Mode = mode; node.Uid = uid; node.Gid = gid; node.MTime = mtime ?? DefaultMTime;
        return node;
    }

    /// <summary>Adds a regular file.</summary>
    public FileNode AddFile(string path, FileContent content, int mode = 0b110_100_100, int uid = 0, int gid = 0, long? mtime = null)
    {
        var node = Add(path, FileNodeType.File, mode, uid, gid, mtime);
        node.Content = content;
        return node;
    }

    /// <summary>Adds a regular file holding <paramref name="bytes"/>.</summary>
    public FileNode AddFile(string path, byte[] bytes, int mode = 0b110_100_100, int uid = 0, int gid = 0, long? mtime = null) =>
        AddFile(path, FileContent.FromBytes(bytes), mode, uid, gid, mtime);

    /// <summary>Adds a symbolic link.</summary>
    public FileNode AddSymlink(string path, string target, int uid = 0, int gid = 0, long? mtime = null)
    {
        if (target.Length == 0) throw new ArgumentException($"symlink /{path.TrimStart('/')} has an empty target", nameof(target));
        var node = Add(path, FileNodeType.Symlink, 0b111_111_111, uid, gid, mtime);
        node.LinkTarget = target;
        return node;
    }

    /// <summary>Adds a character or block device, fifo or socket.</summary>
    public FileNode AddSpecial(string path, FileNodeType type, int mode = 0b110_100_100, int major = 0, int minor = 0, int uid = 0, int gid = 0, long? mtime = null)
    {
        if (type is not (FileNodeType.CharDevice or FileNodeType.BlockDevice or FileNodeType.Fifo or FileNodeType.Socket))
            throw new ArgumentException($"{type} is not a special file type", nameof(type));
        var node = Add(path, type, mode, uid, gid, mtime);
        node.RdevMajor = major; node.RdevMinor = minor;
        return node;
    }

    /// <summary>Adds a hard link at <paramref name="path"/> to the existing non-directory at <paramref name="targetPath"/>.</summary>
    public FileNode AddHardLink(string path, string targetPath)
    {
        var target = Find(targetPath) ?? throw new ArgumentException($"hard link /{path.TrimStart('/')}: target /{targetPath.TrimStart('/')} does not exist");
        return AddHardLink(path, target);
    }

    /// <summary>Adds a hard link at <paramref name="path"/> to <paramref name="target"/>.</summary>
    public FileNode AddHardLink(string path, FileNode target)
    {
        target = target.Inode;
        if (target.Type == FileNodeType.Directory) throw new ArgumentException($"hard link /{path.TrimStart('/')}: target /{target.Path} is a directory");
        var node = Add(path, FileNodeType.HardLink, target.Mode, target.Uid, target.Gid, target.MTime);
        node.HardLinkTarget = target;
        target.LinkCount++;
        return node;
    }

    // Adding under a known directory node, for readers that walk a tree: no path to split and look up again. The
    // entry must not exist yet; metadata is set by the caller.
    internal FileNode AddDirectory(FileNode parent, string name) => AddChild(parent, name, FileNodeType.Directory);

    internal FileNode AddFile(FileNode parent, string name, FileContent content)
    {
        var node = AddChild(parent, name, FileNodeType.File);
        node.Content = content;
        return node;
    }

    internal FileNode AddSymlink(FileNode parent, string name, string target)
    {
        if (target.Length == 0) throw new ArgumentException($"symlink /{parent.Path}/{name} has an empty target", nameof(target));
        var node = AddChild(parent, name, FileNodeType.Symlink);
        node.LinkTarget = target;
        return node;
    }

    internal FileNode AddSpecial(FileNode parent, string name, FileNodeType type, int major, int minor)
    {
        var node = AddChild(parent, name, type);
        node.RdevMajor = major; node.RdevMinor = minor;
        return node;
    }

    internal FileNode AddHardLink(FileNode parent, string name, FileNode target)
    {
        target = target.Inode;
        var node = AddChild(parent, name, FileNodeType.HardLink);
        node.Mode = target.Mode; node.Uid = target.Uid; node.Gid = target.Gid; node.MTime = target.MTime;
        node.HardLinkTarget = target;
        target.LinkCount++;
        return node;
    }

    private FileNode AddChild(FileNode parent, string name, FileNodeType type)
    {
        if (name is "." or ".." || name.Contains('\0') || name.Length > 85) // 85 UTF-16 units always fit in 255 UTF-8 bytes
            ValidateName(name, parent.Path.Length == 0 ? name : parent.Path + "/" + name);
        var node = new FileNode(name, type, parent) { MTime = DefaultMTime };
        parent.AddChild(node);
        return node;
    }

    /// <summary>Finds the node at <paramref name="path"/>, or null.</summary>
    public FileNode? Find(string path)
    {
        var node = Root;
        foreach (var part in Split(path))
        {
            node = node.Child(part);
            if (node is null) return null;
        }
        return node;
    }

    /// <summary>Removes the entry at <paramref name="path"/> (and everything under it); returns false if absent.</summary>
    public bool Remove(string path)
    {
        var node = Find(path);
        if (node?.Parent is null) return false;
        foreach (var n in Walk(node))
            if (n.HardLinkTarget is { } t) t.LinkCount--;
        return node.Parent.RemoveChild(node.Name);
    }

    /// <summary>Every node, root first, depth-first, children in <see cref="NameOrder"/>.</summary>
    public IEnumerable<FileNode> Walk() => Walk(Root);

    private static IEnumerable<FileNode> Walk(FileNode start)
    {
        var stack = new Stack<FileNode>();
        stack.Push(start);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            yield return n;
            if (n.Type == FileNodeType.Directory)
                foreach (var c in n.Children.Reverse()) stack.Push(c);
        }
    }

    /// <summary>Sets every modification time later than <paramref name="sourceDateEpoch"/> to it (reproducible builds).</summary>
    public void ClampTimestamps(long sourceDateEpoch)
    {
        foreach (var n in Walk())
            if (n.MTime > sourceDateEpoch) n.MTime = sourceDateEpoch;
        if (DefaultMTime > sourceDateEpoch) DefaultMTime = sourceDateEpoch;
    }

    /// <summary>Reads a host directory into a tree (lstat semantics: symlinks are not followed).</summary>
    public static FileTree FromDirectory(string path, FileTreeOptions? options = null) =>
        HostDirectoryReader.Read(path, options ?? new FileTreeOptions());

    private FileNode Add(string path, FileNodeType type, int mode, int uid, int gid, long? mtime)
    {
        var parts = Split(path);
        if (parts.Length == 0) throw new ArgumentException("cannot add an entry at the root path", nameof(path));
        ValidateName(parts[^1], path);
        var dir = EnsureDirectory(parts[..^1], path);
        if (dir.Child(parts[^1]) is { } existing)
        {
            if (existing.Type == FileNodeType.Directory && existing.ChildCount > 0)
                throw new ArgumentException($"/{string.Join('/', parts)} already exists as a non-empty directory");
            Remove(string.Join('/', parts));
        }
        var node = new FileNode(parts[^1], type, dir) { Mode = mode & 0xFFF, Uid = uid, Gid = gid, MTime = mtime ?? DefaultMTime };
        dir.AddChild(node);
        return node;
    }

    private FileNode EnsureDirectory(string[] parts, string fullPath)
    {
        var node = Root;
        foreach (var part in parts)
        {
            ValidateName(part, fullPath);
            var next = node.Child(part);
            if (next is null)
            {
                next = new FileNode(part, FileNodeType.Directory, node) { Mode = DefaultDirectoryMode, MTime = DefaultMTime };
                node.AddChild(next);
            }
            else if (next.Type != FileNodeType.Directory)
                throw new ArgumentException($"/{fullPath.TrimStart('/')}: /{next.Path} is a {next.Type}, not a directory");
            node = next;
        }
        return node;
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static void ValidateName(string name, string fullPath)
    {
        if (name is "." or "..") throw new ArgumentException($"path /{fullPath.TrimStart('/')} contains '{name}'");
        if (name.Contains('\0')) throw new ArgumentException($"path /{fullPath.TrimStart('/')} contains a NUL character");
        if (System.Text.Encoding.UTF8.GetByteCount(name) > 255)
            throw new ArgumentException($"name '{name[..20]}…' in /{fullPath.TrimStart('/')} is longer than 255 bytes");
    }
}

/// <summary>How <see cref="FileTree.FromDirectory"/> maps a host directory.</summary>
public sealed class FileTreeOptions
{
    /// <summary>When set, modification times later than this are clamped to it (SOURCE_DATE_EPOCH).</summary>
    public long? SourceDateEpoch { get; init; }

    /// <summary>When set, every entry gets this owner instead of the host's.</summary>
    public int? Uid { get; init; }

    /// <summary>When set, every entry gets this group instead of the host's.</summary>
    public int? Gid { get; init; }

    /// <summary>Whether extended attributes are read (default true).</summary>
    public bool ReadXattrs { get; init; } = true;
}
