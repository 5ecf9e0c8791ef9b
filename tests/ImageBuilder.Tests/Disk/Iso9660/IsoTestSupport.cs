// Trees and small helpers shared by the ISO 9660 tests.
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk.Iso9660;

internal static class IsoTestSupport
{
    public const long Epoch = 1_700_000_000;

    /// <summary>
    /// Everything Rock Ridge has to carry: modes, owners, times, symlinks (one longer than an SL entry), devices, fifos,
    /// sockets, hard links, empty files, 255-byte names, names that map to the same ISO name, a directory spanning several
    /// blocks, and directories nested 12 deep (beyond ECMA-119's 8 levels).
    /// </summary>
    public static FileTree RichTree()
    {
        var t = SquashFsExternalTests.SampleTree();
        foreach (var n in t.Walk()) n.Xattrs.Clear(); // ISO 9660 carries no xattrs (README)
        t.AddFile(new string('n', 251) + ".txt", FileContent.FromText("255-byte name\n"));
        t.AddFile("grüße-ünïcødé.txt", FileContent.FromText("utf-8 name\n"), 0b110_100_100, 7, 8, 1_650_000_000);
        t.AddFile("Same.TXT", FileContent.FromText("upper\n"));
        t.AddFile("same.txt", FileContent.FromText("lower\n"));
        t.AddFile("same.txt.", FileContent.FromText("dot\n"));
        t.AddFile(".hidden", FileContent.FromText("hidden\n"));
        t.AddSymlink("long-link", string.Join('/', Enumerable.Range(0, 40).Select(i => $"component-{i:D3}")) + "/" + new string('x', 300));
        t.AddSymlink("rel-link", "../etc/./hostname");
        t.AddSymlink("dir-link", "usr/bin/");
        t.AddFile("setuid", FileContent.FromText("#!/bin/sh\n"), 0b100_111_101_101, 0, 0);
        string deep = string.Join('/', Enumerable.Range(1, 12).Select(i => $"level{i}"));
        t.AddFile(deep + "/bottom.txt", FileContent.FromText("deep\n"), 0b110_100_100, 5, 5);
        for (int i = 0; i < 300; i++)
            t.AddFile($"many/file-with-a-longish-name-{i:D4}.conf", FileContent.FromText($"file {i}\n"), 0b110_100_100, i, i, Epoch - i);
        t.AddFile("zeros.bin", FileContent.Zeros(5_000_000));
        t.AddHardLink("many/link-to-tool", "usr/bin/tool");
        return t;
    }

    /// <summary>A small FAT image standing in for an EFI boot image, and a stand-in BIOS loader (isolinux.bin when installed).</summary>
    public static FileTree BootTree(string efiImage)
    {
        var t = new FileTree(Epoch);
        t.AddFile("hello.txt", FileContent.FromText("hello\n"));
        t.AddFile("boot/efiboot.img", FileContent.FromHostFile(efiImage));
        var isolinux = "/usr/lib/ISOLINUX/isolinux.bin";
        t.AddFile("isolinux/isolinux.bin", File.Exists(isolinux)
            ? FileContent.FromHostFile(isolinux)
            : FileContent.FromBytes(Enumerable.Range(0, 40_000).Select(i => (byte)(i * 13)).ToArray()));
        return t;
    }

    /// <summary>Makes a 2880 KiB FAT image with mkfs.vfat (the size of a typical efiboot.img) holding EFI-MARKER.TXT (mcopy).</summary>
    public static string MakeEfiImage(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var f = File.Create(path)) f.SetLength(2880 * 1024);
        DiskTools.Run("mkfs.vfat", ["-n", "EFIBOOT", "-i", "12345678", path]);
        DiskTools.Run("mcopy", ["-i", path, "-", "::/EFI-MARKER.TXT"], stdin: "efi partition\n");
        return path;
    }
}
