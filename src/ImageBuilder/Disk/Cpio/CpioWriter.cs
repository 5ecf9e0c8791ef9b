// Writes a FileTree as a cpio newc archive (the Linux initramfs format), streamed, with deterministic inode numbers.
using System.Text;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Cpio;

/// <summary>
/// Writes a newc archive (Linux Documentation/driver-api/early-userspace/buffer-format.rst). Entries come in tree
/// order, directories before their contents; inode numbers count up from 1 in that order. Hard links share an inode
/// number and, per the newc rules, only the last name of a link group carries the data. The stream ends with
/// TRAILER!!! and is padded to 512 bytes as GNU cpio does. Compression of the whole archive, if wanted, is the caller's.
/// </summary>
public static class CpioWriter
{
    private const uint S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

    /// <summary>Writes <paramref name="tree"/> (without its root directory entry unless <paramref name="includeRoot"/>) to <paramref name="output"/>.</summary>
    public static void Write(FileTree tree, Stream output, bool includeRoot = false)
    {
        var nodes = tree.Walk().Where(n => includeRoot || n.Parent != null).ToList();
        var inodes = new Dictionary<FileNode, uint>(ReferenceEqualityComparer.Instance);
        var lastName = new Dictionary<FileNode, FileNode>(ReferenceEqualityComparer.Instance);
        foreach (var n in nodes)
        {
            if (!inodes.ContainsKey(n.Inode)) inodes[n.Inode] = (uint)inodes.Count + 1;
            lastName[n.Inode] = n;
        }
        long pos = 0;
        var buf = new byte[1 << 16];
        foreach (var n in nodes)
        {
            var i = n.Inode;
            bool carriesData = i.Type == FileNodeType.File && ReferenceEquals(lastName[i], n);
            byte[] body = i.Type == FileNodeType.Symlink ? Encoding.UTF8.GetBytes(i.LinkTarget!) : [];
            long size = i.Type == FileNodeType.Symlink ? body.Length : carriesData ? i.Size : 0;
            if (size > uint.MaxValue) throw new InvalidDataException($"cpio: /{n.Path} is {size} bytes; newc entries must be smaller than 4 GiB");
            string name = includeRoot ? (n.Path.Length == 0 ? "." : n.Path) : n.Path;
            var h = new NewcHeader
            {
                Ino = inodes[i], Mode = TypeBits(i.Type) | (uint)(i.Mode & 0xFFF), Uid = (uint)i.Uid, Gid = (uint)i.Gid,
                Nlink = i.Type == FileNodeType.Directory ? 2 + (uint)i.Children.Count(c => c.Type == FileNodeType.Directory) : (uint)i.LinkCount,
                MTime = (uint)Math.Clamp(n.Inode.MTime, 0, uint.MaxValue), FileSize = (uint)size,
                RdevMajor = (uint)i.RdevMajor, RdevMinor = (uint)i.RdevMinor,
            };
            pos += WriteHeader(output, h, name);
            if (i.Type == FileNodeType.Symlink) { output.Write(body); pos += body.Length; }
            else if (carriesData && size > 0)
            {
                using var r = i.Content!.Open();
                for (long off = 0; off < size; off += buf.Length)
                {
                    int k = (int)Math.Min(buf.Length, size - off);
                    r.ReadExactly(off, buf.AsSpan(0, k));
                    output.Write(buf, 0, k);
                }
                pos += size;
            }
            pos += Pad(output, pos, 4);
        }
        pos += WriteHeader(output, new NewcHeader { Nlink = 1 }, NewcHeader.Trailer);
        Pad(output, pos, 512);
    }

    private static long WriteHeader(Stream output, NewcHeader h, string name)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        h = h with { NameSize = (uint)nameBytes.Length + 1 };
        var hb = new byte[NewcHeader.Size];
        h.WriteTo(hb);
        output.Write(hb);
        output.Write(nameBytes);
        output.WriteByte(0);
        long written = NewcHeader.Size + nameBytes.Length + 1;
        return written + Pad(output, written, 4);
    }

    private static int Pad(Stream output, long pos, int to)
    {
        int pad = (int)((to - pos % to) % to);
        if (pad > 0) output.Write(new byte[pad]);
        return pad;
    }

    internal static uint TypeBits(FileNodeType t) => t switch
    {
        FileNodeType.Directory => S_IFDIR, FileNodeType.File => S_IFREG, FileNodeType.Symlink => S_IFLNK,
        FileNodeType.CharDevice => S_IFCHR, FileNodeType.BlockDevice => S_IFBLK, FileNodeType.Fifo => S_IFIFO,
        FileNodeType.Socket => S_IFSOCK, _ => throw new ArgumentException($"no mode bits for {t}"),
    };
}
