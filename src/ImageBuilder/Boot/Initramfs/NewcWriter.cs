// A cpio "newc" (SVR4, no CRC) archive writer for the initramfs, as the kernel's initramfs unpacker reads it.
using System.Text;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Boot.Initramfs;

/// <summary>
/// Writes a <see cref="FileTree"/> as a newc cpio archive (Linux Documentation/driver-api/early-userspace/buffer-format.rst):
/// a 110-byte ASCII header per entry (magic 070701 and thirteen 8-digit hex fields), the NUL-terminated
/// name padded to 4 bytes, the data padded to 4 bytes, and a TRAILER!!! entry. Entries come in the tree's
/// sorted walk order, so parents precede children; hard links are written as separate copies.
/// </summary>
/// <remarks>Interim: to be replaced by the disk area's Cpio writer once it lands.</remarks>
public static class NewcWriter
{
    private const int HeaderLength = 6 + 13 * 8;

    /// <summary>Writes <paramref name="tree"/> to <paramref name="output"/>.</summary>
    public static void Write(FileTree tree, Stream output)
    {
        uint ino = 1;
        var buffer = new byte[1 << 16];
        foreach (var node in tree.Walk())
        {
            var name = node.Parent is null ? "." : node.Path;
            var target = node.Inode;
            byte[] linkBytes = target.Type == FileNodeType.Symlink ? Encoding.UTF8.GetBytes(target.LinkTarget!) : [];
            long size = target.Type switch
            {
                FileNodeType.File => target.Size,
                FileNodeType.Symlink => linkBytes.Length,
                _ => 0,
            };
            if (size > uint.MaxValue) throw new InvalidDataException($"initramfs: /{name} is larger than newc's 4 GiB limit");
            int type = target.Type switch
            {
                FileNodeType.Directory => 0x4000,
                FileNodeType.File => 0x8000,
                FileNodeType.Symlink => 0xA000,
                FileNodeType.CharDevice => 0x2000,
                FileNodeType.BlockDevice => 0x6000,
                FileNodeType.Fifo => 0x1000,
                FileNodeType.Socket => 0xC000,
                _ => throw new InvalidDataException($"initramfs: /{name} has unsupported type {target.Type}"),
            };
            WriteHeader(output, name, ino++, type | (target.Mode & 0xFFF), target.Uid, target.Gid,
                target.Type == FileNodeType.Directory ? 2 : 1, target.MTime, (uint)size, target.RdevMajor, target.RdevMinor);
            if (target.Type == FileNodeType.File && target.Content is { } content)
            {
                using var s = content.OpenRead();
                int n;
                while ((n = s.Read(buffer)) > 0) output.Write(buffer, 0, n);
            }
            else if (linkBytes.Length > 0)
                output.Write(linkBytes);
            Pad(output, size);
        }
        WriteHeader(output, "TRAILER!!!", 0, 0, 0, 0, 1, 0, 0, 0, 0);
    }

    private static void WriteHeader(Stream output, string name, uint ino, int mode, int uid, int gid, int nlink, long mtime, uint size, int rmajor, int rminor)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var sb = new StringBuilder("070701", HeaderLength);
        foreach (var v in new uint[] { ino, (uint)mode, (uint)uid, (uint)gid, (uint)nlink, (uint)Math.Clamp(mtime, 0, uint.MaxValue),
                                       size, 0, 0, (uint)rmajor, (uint)rminor, (uint)nameBytes.Length + 1, 0 })
            sb.Append(v.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
        output.Write(Encoding.ASCII.GetBytes(sb.ToString()));
        output.Write(nameBytes);
        output.WriteByte(0);
        Pad(output, HeaderLength + nameBytes.Length + 1);
    }

    private static void Pad(Stream output, long length)
    {
        var pad = (int)((4 - length % 4) % 4);
        for (var i = 0; i < pad; i++) output.WriteByte(0);
    }
}
