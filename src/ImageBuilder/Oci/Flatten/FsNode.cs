// One inode of a flattened image tree; hard links are one FsNode reached by several names.
namespace Appliance.ImageBuilder.Oci.Flatten;

/// <summary>What kind of file a node is.</summary>
public enum FsNodeKind
{
    /// <summary>Regular file; <see cref="FsNode.Content"/> says where its bytes are.</summary>
    File,
    /// <summary>Directory; <see cref="FsNode.Children"/> holds its entries.</summary>
    Directory,
    /// <summary>Symbolic link; <see cref="FsNode.LinkTarget"/>.</summary>
    Symlink,
    /// <summary>Character device; <see cref="FsNode.DeviceMajor"/>, <see cref="FsNode.DeviceMinor"/>.</summary>
    CharDevice,
    /// <summary>Block device.</summary>
    BlockDevice,
    /// <summary>Named pipe.</summary>
    Fifo,
}

/// <summary>
/// An inode: kind, permission bits (including setuid, setgid and sticky), owner, mtime, xattrs, and the kind's payload.
/// Several directory entries may refer to the same node: that is a hard link, and consumers compare by reference.
/// </summary>
public sealed class FsNode
{
    /// <summary>Creates a node.</summary>
    public FsNode(FsNodeKind kind) => Kind = kind;

    /// <summary>The kind.</summary>
    public FsNodeKind Kind { get; }
    /// <summary>Permission bits, 0 to octal 7777.</summary>
    public int Mode { get; set; }
    /// <summary>Owner.</summary>
    public int Uid { get; set; }
    /// <summary>Group.</summary>
    public int Gid { get; set; }
    /// <summary>Modification time.</summary>
    public DateTimeOffset ModificationTime { get; set; }
    /// <summary>Extended attributes (name to raw value), sorted by name.</summary>
    public SortedDictionary<string, byte[]> Xattrs { get; } = new(StringComparer.Ordinal);
    /// <summary>Symlink target.</summary>
    public string? LinkTarget { get; set; }
    /// <summary>Device major number.</summary>
    public int DeviceMajor { get; set; }
    /// <summary>Device minor number.</summary>
    public int DeviceMinor { get; set; }
    /// <summary>Where a regular file's bytes are.</summary>
    public FileContent? Content { get; set; }
    /// <summary>Entries of a directory, by name, in ordinal order; null for other kinds.</summary>
    public SortedDictionary<string, FsNode>? Children { get; private init; }

    /// <summary>Size of a regular file's content.</summary>
    public long Size => Content?.Length ?? 0;

    /// <summary>A new, empty directory.</summary>
    public static FsNode NewDirectory() => new(FsNodeKind.Directory) { Children = new(StringComparer.Ordinal), Mode = 0b111_101_101 };
}
