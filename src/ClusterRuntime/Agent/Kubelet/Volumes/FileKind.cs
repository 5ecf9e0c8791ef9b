// The type of a file (directory, socket, device...) from statx(2), which .NET does not expose.
using System.Runtime.InteropServices;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>File types as stat's S_IFMT bits give them.</summary>
public enum FileKind
{
    /// <summary>The path does not exist.</summary>
    Missing,
    /// <summary>A regular file.</summary>
    File,
    /// <summary>A directory.</summary>
    Directory,
    /// <summary>A unix socket.</summary>
    Socket,
    /// <summary>A character device.</summary>
    CharDevice,
    /// <summary>A block device.</summary>
    BlockDevice,
    /// <summary>A FIFO or anything else.</summary>
    Other,
}

/// <summary>statx(2) of a path, following symlinks as upstream's os.Stat does.</summary>
public static class FileKinds
{
    [DllImport("libc", SetLastError = true)]
    static extern int statx(int dirfd, string path, int flags, uint mask, byte[] buffer);

    // struct statx is the same on every architecture: stx_mode is a u16 at byte 28 of 256.
    const int AtFdCwd = -100, ModeOffset = 28;
    const uint StatxType = 1;

    /// <summary>The kind of file at <paramref name="path"/>.</summary>
    public static FileKind Of(string path)
    {
        var buffer = new byte[256];
        if (statx(AtFdCwd, path, 0, StatxType, buffer) != 0) return FileKind.Missing;
        return (MemoryMarshal.Read<ushort>(buffer.AsSpan(ModeOffset)) & 0xF000) switch
        {
            0x8000 => FileKind.File,
            0x4000 => FileKind.Directory,
            0xC000 => FileKind.Socket,
            0x2000 => FileKind.CharDevice,
            0x6000 => FileKind.BlockDevice,
            _ => FileKind.Other,
        };
    }
}
