// The kinds of entry an input tree can hold (the POSIX file types plus hard links).
namespace Appliance.ImageBuilder.Disk.Tree;

/// <summary>What a <see cref="FileNode"/> is.</summary>
public enum FileNodeType
{
    /// <summary>A regular file with content.</summary>
    File,
    /// <summary>A directory.</summary>
    Directory,
    /// <summary>A symbolic link; <see cref="FileNode.LinkTarget"/> holds the target text.</summary>
    Symlink,
    /// <summary>A further name for another node; <see cref="FileNode.HardLinkTarget"/> is that node.</summary>
    HardLink,
    /// <summary>A character device.</summary>
    CharDevice,
    /// <summary>A block device.</summary>
    BlockDevice,
    /// <summary>A named pipe.</summary>
    Fifo,
    /// <summary>A unix domain socket.</summary>
    Socket,
}
