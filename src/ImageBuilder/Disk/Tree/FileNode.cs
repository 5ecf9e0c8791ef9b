// One entry of an input tree: a file, directory, link, device, fifo or socket with its metadata.
namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>
/// One entry of a <see cref="FileTree"/>. Metadata is plain data; directories hold their children
/// sorted by <see cref="NameOrder"/>.
/// </summary>
public sealed class FileNode
{
    private readonly SortedDictionary<string, FileNode>? _children;

    internal FileNode(string name, FileNodeType type, FileNode? parent)
    {
        Name = name;
        Type = type;
        Parent = parent;
        if (type == FileNodeType.Directory)
            _children = new SortedDictionary<string, FileNode>(NameOrder.Instance);
    }

    /// <summary>The last path segment; empty for the root.</summary>
    public string Name { get; }

    /// <summary>What this entry is.</summary>
    public FileNodeType Type { get; }

    /// <summary>The directory holding this entry; null for the root.</summary>
    public FileNode? Parent { get; }

    /// <summary>The path relative to the root, '/'-separated, without a leading slash; empty for the root.</summary>
    public string Path => Parent is null ? "" : Parent.Parent is null ? Name : Parent.Path + "/" + Name;

    /// <summary>Permission bits, including setuid, setgid and sticky (07777).</summary>
    public int Mode { get; set; }

    /// <summary>Owner user id.</summary>
    public int Uid { get; set; }

    /// <summary>Owner group id.</summary>
    public int Gid { get; set; }

    /// <summary>Modification time in seconds since the Unix epoch.</summary>
    public long MTime { get; set; }

    /// <summary>Extended attributes by full name (for example <c>security.capability</c>), sorted by name.</summary>
    public SortedDictionary<string, byte[]> Xattrs { get; } = new(StringComparer.Ordinal);

    /// <summary>Device major number (character and block devices).</summary>
    public int RdevMajor { get; set; }

    /// <summary>Device minor number (character and block devices).</summary>
    public int RdevMinor { get; set; }

    /// <summary>The target text of a symlink.</summary>
    public string? LinkTarget { get; set; }

    /// <summary>For a hard link: the node it is another name of (never itself a hard link or a directory).</summary>
    public FileNode? HardLinkTarget { get; internal set; }

    /// <summary>The content of a regular file.</summary>
    public FileContent? Content { get; set; }

    /// <summary>The size in bytes of a regular file's content; 0 for everything else.</summary>
    public long Size => Type == FileNodeType.File ? Content?.Length ?? 0 : 0;

    /// <summary>How many names this node has: itself plus the hard links that point at it.</summary>
    public int LinkCount { get; internal set; } = 1;

    /// <summary>The children of a directory, in <see cref="NameOrder"/>; empty for anything else.</summary>
    public IEnumerable<FileNode> Children => (IEnumerable<FileNode>?)_children?.Values ?? [];

    /// <summary>The number of children of a directory.</summary>
    public int ChildCount => _children?.Count ?? 0;

    /// <summary>Finds a direct child by name.</summary>
    public FileNode? Child(string name) => _children != null && _children.TryGetValue(name, out var c) ? c : null;

    /// <summary>The node whose inode this entry names: the target of a hard link, otherwise itself.</summary>
    public FileNode Inode => HardLinkTarget ?? this;

    internal void AddChild(FileNode child) => _children!.Add(child.Name, child);

    internal bool RemoveChild(string name) => _children!.Remove(name);

    /// <inheritdoc/>
    public override string ToString() => $"{Type} /{Path}";
}
