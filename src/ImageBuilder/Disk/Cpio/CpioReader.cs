// Reads a cpio newc archive back into a FileTree (content held in memory; meant for initramfs-sized archives).
using System.Text;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Disk.Cpio;

/// <summary>Reads newc archives such as those <see cref="CpioWriter"/> writes.</summary>
public static class CpioReader
{
    /// <summary>Reads every entry up to TRAILER!!!; hard links (same inode number) become <see cref="FileNodeType.HardLink"/> nodes.</summary>
    public static FileTree Read(Stream input)
    {
        var tree = new FileTree();
        var byIno = new Dictionary<uint, List<(string Path, NewcHeader H)>>();
        var hb = new byte[NewcHeader.Size];
        long pos = 0;
        while (true)
        {
            long at = pos;
            input.ReadExactly(hb);
            var h = NewcHeader.Read(hb, at);
            long left = input.CanSeek ? input.Length - at - NewcHeader.Size : long.MaxValue;
            if (h.NameSize > left || h.FileSize > left || h.FileSize > Array.MaxLength)
                throw new InvalidDataException($"cpio header at byte {at}: namesize {h.NameSize} / filesize {h.FileSize} exceed the {left} bytes left in the archive");
            var nameBytes = new byte[h.NameSize];
            input.ReadExactly(nameBytes);
            pos += NewcHeader.Size + h.NameSize;
            Skip(input, ref pos, 4);
            string name = Encoding.UTF8.GetString(nameBytes, 0, Math.Max(0, (int)h.NameSize - 1));
            if (name == NewcHeader.Trailer) break;
            var data = new byte[h.FileSize];
            input.ReadExactly(data);
            pos += h.FileSize;
            Skip(input, ref pos, 4);
            string path = name.TrimStart('.', '/');
            if (name == "." || path.Length == 0) { Apply(tree.Root, h); continue; }
            uint fmt = h.Mode & 0xF000;
            FileNode node;
            switch (fmt)
            {
                case 0x4000: node = tree.AddDirectory(path); break;
                case 0xA000: node = tree.AddSymlink(path, Encoding.UTF8.GetString(data)); break;
                case 0x8000:
                    if (h.Nlink > 1 && byIno.TryGetValue(h.Ino, out var group))
                    {
                        group.Add((path, h));
                        if (data.Length > 0) tree.Find(group[0].Path)!.Content = FileContent.FromBytes(data);
                        node = tree.AddHardLink(path, group[0].Path);
                        continue;
                    }
                    node = tree.AddFile(path, FileContent.FromBytes(data));
                    if (h.Nlink > 1) byIno[h.Ino] = [(path, h)];
                    break;
                case 0x2000: node = tree.AddSpecial(path, FileNodeType.CharDevice, 0, (int)h.RdevMajor, (int)h.RdevMinor); break;
                case 0x6000: node = tree.AddSpecial(path, FileNodeType.BlockDevice, 0, (int)h.RdevMajor, (int)h.RdevMinor); break;
                case 0x1000: node = tree.AddSpecial(path, FileNodeType.Fifo); break;
                case 0xC000: node = tree.AddSpecial(path, FileNodeType.Socket); break;
                default: throw new InvalidDataException($"cpio entry '{name}' at byte {at}: unknown file type 0x{fmt:x}");
            }
            Apply(node, h);
        }
        return tree;
    }

    private static void Apply(FileNode n, NewcHeader h)
    {
        n.Mode = (int)(h.Mode & 0xFFF); n.Uid = (int)h.Uid; n.Gid = (int)h.Gid; n.MTime = h.MTime;
    }

    private static void Skip(Stream s, ref long pos, int to)
    {
        int pad = (int)((to - pos % to) % to);
        if (pad > 0) { Span<byte> b = stackalloc byte[4]; s.ReadExactly(b[..pad]); pos += pad; }
    }
}
