// Build step 6 (target.format: iso): NAME.iso from the raw image's parts: root-a's SquashFS, the boot files, the installer's payload, the boot menus.
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.Boot.SystemdBoot;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Iso9660;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// The ISO of a <c>target.format: iso</c> site, made after the raw outputs (whose manifest and bundle it carries):
/// <list type="bullet">
/// <item><c>appliance/root.squashfs</c>: root-a's SquashFS, the same bytes as in the raw image (the live root, and root-a for the installer);</item>
/// <item><c>appliance/boot/</c>: every file of the raw image's boot partition (kernel, initramfs, site.yaml, manifests, loader entries);</item>
/// <item><c>appliance/NAME.manifest.json</c> (and its bundle when signed) and <c>appliance/install/</c> (<see cref="IsoInstallPayload"/>);</item>
/// <item><c>boot/efiboot.img</c>: a FAT ESP (El Torito platform 0xEF) with systemd-boot, the kernel, the initramfs and a
/// menu of two entries, "Appliance (live)" (<c>appliance.mode=live</c>, the default) and "Install appliance" (<c>appliance.mode=install</c>);</item>
/// <item>boards with <see cref="Board.IsoBiosBoot"/>: <c>isolinux/</c> (El Torito platform 0, the initial entry) with the same
/// menu, and the isohybrid MBR code from the OS image's isolinux package.</item>
/// </list>
/// The image is hybrid (MBR + GPT as xorriso's <c>-isohybrid-gpt-basdat</c>), so the same file boots from a USB stick.
/// </summary>
public static class IsoImage
{
    /// <summary>Where the boot partition's files are.</summary>
    public const string BootDirectory = "appliance/boot";

    /// <summary>The El Torito EFI image.</summary>
    public const string EfiImagePath = "boot/efiboot.img";

    /// <summary>The isolinux directory (BIOS boot).</summary>
    public const string IsolinuxDirectory = "isolinux";

    /// <summary>Seconds the boot menus wait before booting the live entry.</summary>
    public const int MenuTimeoutSeconds = 5;

    /// <summary>The root slot whose kernel and initramfs the ISO boots (root-a's bytes are the live root).</summary>
    private const string Slot = "a";

    /// <summary>The isolinux files from the OS image (Debian's isolinux and syslinux-common), by their name on the ISO.</summary>
    private static readonly (string Name, string Source)[] IsolinuxFiles =
    [
        ("isolinux.bin", "usr/lib/ISOLINUX/isolinux.bin"),
        ("ldlinux.c32", "usr/lib/syslinux/modules/bios/ldlinux.c32"),
        ("libcom32.c32", "usr/lib/syslinux/modules/bios/libcom32.c32"),
        ("libutil.c32", "usr/lib/syslinux/modules/bios/libutil.c32"),
        ("menu.c32", "usr/lib/syslinux/modules/bios/menu.c32"),
    ];

    private const string IsohybridMbr = "usr/lib/ISOLINUX/isohdpfx.bin";

    /// <summary>
    /// The volume identifier of site <paramref name="siteName"/>: upper-cased, every character outside the ECMA-119
    /// d-characters (A–Z, 0–9, _) replaced by <c>_</c>, cut to 32 characters.
    /// </summary>
    public static string VolumeId(string siteName)
    {
        var chars = siteName.ToUpperInvariant().Select(c => c is >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' ? c : '_').ToArray();
        var id = new string(chars);
        return id.Length > 32 ? id[..32] : id.Length == 0 ? "APPLIANCE" : id;
    }

    /// <summary>
    /// Writes <paramref name="outputs"/>'s <see cref="ImageOutputs.Iso"/> from the raw build <paramref name="raw"/> (its
    /// image stays: the installer's regions are read from it), and with <paramref name="key"/> its bundle, signed with the
    /// same provenance as the raw outputs. Scratch files go to <paramref name="workDirectory"/>.
    /// </summary>
    public static BuildResult Write(ImageOutputs outputs, BuildResult raw, DiskLayout layout, RootImage rootA, Board board, OsRoot os,
        BuildFacts facts, SigningKey? key, long sourceDateEpoch, string workDirectory, Action<string> progress)
    {
        var target = board.BootTarget as SystemdBootTarget
            ?? throw new InvalidOperationException($"board {board.Name} makes ISOs but its boot chain ({board.BootTarget.GetType().Name}) has no systemd-boot menu");
        var tree = new FileTree(sourceDateEpoch);
        tree.AddFile(IsoInstallPayload.RootPath, FileContent.FromHostFile(rootA.Path), mtime: sourceDateEpoch);
        CopyTree(layout.Boot.Root, tree, BootDirectory);
        string manifestPath = $"appliance/{Path.GetFileName(outputs.Manifest)}";
        tree.AddFile(manifestPath, FileContent.FromHostFile(outputs.Manifest), mtime: sourceDateEpoch);
        var manifestBundle = BuildAttestation.BundlePath(outputs.Manifest);
        if (File.Exists(manifestBundle))
            tree.AddFile(BuildAttestation.BundlePath(manifestPath), FileContent.FromHostFile(manifestBundle), mtime: sourceDateEpoch);
        IsoInstallPayload.AddTo(tree, outputs.Image, raw.Disk, layout.MinimumDiskSize, sourceDateEpoch, manifestPath);

        var esp = EfiImage(target, layout.Boot, rootA, sourceDateEpoch, Path.Combine(workDirectory, "efiboot.img"));
        tree.AddFile(EfiImagePath, FileContent.FromHostFile(esp), mtime: sourceDateEpoch);
        // The writer loads the whole image, capped at 0xFFFF virtual sectors (the FAT32 image is larger: OVMF reads
        // its FAT through the partition El Torito gives it, and the files lie at its start).
        var efiEntry = new IsoBootEntry(IsoBootPlatform.Efi, EfiImagePath);

        List<IsoBootEntry> entries = [efiEntry];
        byte[]? mbrCode = null;
        if (board.IsoBiosBoot)
        {
            foreach (var (name, source) in IsolinuxFiles)
                tree.AddFile($"{IsolinuxDirectory}/{name}", os.Fs.File(source, $"{name} (install isolinux and syslinux-common in the OS image for the ISO's BIOS boot)").Content!, mtime: sourceDateEpoch);
            tree.AddFile($"{IsolinuxDirectory}/isolinux.cfg", Encoding.UTF8.GetBytes(IsolinuxCfg(target, outputs.Name)), mtime: sourceDateEpoch);
            entries.Insert(0, new IsoBootEntry(IsoBootPlatform.X86Bios, $"{IsolinuxDirectory}/isolinux.bin", BootInfoTable: true));
            mbrCode = os.Fs.ReadAllBytes(IsohybridMbr, "isohybrid MBR code (install isolinux in the OS image)")[..432];
        }

        var options = new IsoOptions
        {
            VolumeId = VolumeId(outputs.Name), SourceDateEpoch = sourceDateEpoch, BootEntries = entries,
            BootCatalogPath = "boot/boot.catalog", Hybrid = new IsoHybrid(mbrCode), IdentitySeed = rootA.Sha256,
        };
        progress($"composing {Path.GetFileName(outputs.Iso)} (live + installer; UEFI{(board.IsoBiosBoot ? " and BIOS" : "")}, hybrid for USB)");
        IsoResult iso;
        IDisposable unfinished;
        try
        {
            iso = ImageFileStream.WriteFile(outputs.Iso, durable: true, output => IsoWriter.Build(tree, options, output),
                [BuildAttestation.BundlePath(outputs.Iso)], out unfinished);
        }
        catch (ArgumentException e)
        {
            outputs.DeleteAll();
            throw new UserInputException($"{outputs.Name}: the ISO cannot be written: {e.Message}");
        }
        catch
        {
            outputs.DeleteAll();
            throw;
        }
        try
        {
            byte[] sha = FileSha256.Hash(outputs.Iso);
            IReadOnlyList<string> bundles = raw.Bundles;
            if (key != null)
            {
                var provenance = BuildAttestation.Provenance(facts, Path.GetFileName(outputs.Sbom), File.ReadAllBytes(outputs.Sbom));
                bundles = [.. bundles, .. BuildAttestation.Sign(key, provenance, [(outputs.Iso, sha)])];
            }
            progress($"wrote {outputs.Iso} ({iso.Size >> 20} MiB){(key != null ? $", signed with key {key.Id}" : "")}");
            return raw with { IsoPath = outputs.Iso, IsoSha256 = sha, Bundles = bundles };
        }
        catch
        {
            outputs.DeleteAll();
            throw;
        }
        finally
        {
            unfinished.Dispose();
        }
    }

    /// <summary>Copies every node under <paramref name="from"/> into <paramref name="to"/> below <paramref name="prefix"/>.</summary>
    private static void CopyTree(FileNode from, FileTree to, string prefix)
    {
        foreach (var child in from.Children)
        {
            var path = $"{prefix}/{child.Name}";
            switch (child.Type)
            {
                case FileNodeType.Directory:
                    to.AddDirectory(path, child.Mode, child.Uid, child.Gid, child.MTime);
                    CopyTree(child, to, path);
                    break;
                case FileNodeType.File:
                    to.AddFile(path, child.Content!, child.Mode, child.Uid, child.Gid, child.MTime);
                    break;
                default:
                    throw new InvalidOperationException($"the boot partition holds /{child.Path}, a {child.Type}: only files and directories go on FAT");
            }
        }
    }

    /// <summary>
    /// The ESP image: the loader, slot a's kernel and initramfs from the boot files, and the two-entry menu. FAT32 (the
    /// writer's only kind) needs at least <see cref="FatBuilder.MinSectors"/> sectors; the image is that or the files plus
    /// 4 MiB, in whole MiB.
    /// </summary>
    private static string EfiImage(SystemdBootTarget target, FileTree boot, RootImage rootA, long sourceDateEpoch, string path)
    {
        var esp = new FileTree(sourceDateEpoch);
        foreach (var file in new[] { target.EfiLoaderPath, SystemdBootTarget.KernelPath(Slot), SystemdBootTarget.InitrdPath(Slot) })
        {
            var node = boot.Find(file) ?? throw new InvalidOperationException($"the boot files have no {file}");
            esp.AddFile(file, node.Content!, mtime: node.MTime);
        }
        esp.AddFile("loader/loader.conf", Encoding.UTF8.GetBytes(SystemdBootTarget.MenuLoaderConf("appliance-live.conf", MenuTimeoutSeconds)), mtime: sourceDateEpoch);
        foreach (var m in Modes)
            esp.AddFile($"loader/entries/appliance-{m.Mode}.conf", Encoding.UTF8.GetBytes(target.MenuEntry(m.Title, Slot, $"appliance.mode={m.Mode}")), mtime: sourceDateEpoch);

        const long MiB = 1 << 20;
        long content = esp.Walk().Sum(n => n.Size);
        long size = Math.Max((FatBuilder.MinSectors * 512 + MiB - 1) / MiB * MiB, (content + 4 * MiB + MiB - 1) / MiB * MiB);
        new FatBuilder(esp, size, new FatOptions { VolumeLabel = "EFIBOOT", VolumeSerial = DerivedGuid.CreateUInt32(rootA.Sha256, "iso-efi-volume-serial") })
            .Build(path, durable: false);
        return path;
    }

    /// <summary>The menu entries, the default first.</summary>
    private static readonly (string Mode, string Title)[] Modes = [("live", "Appliance (live)"), ("install", "Install appliance")];

    /// <summary>isolinux.cfg: the same entries and command lines as the UEFI menu, the kernel and initramfs read from <see cref="BootDirectory"/>.</summary>
    public static string IsolinuxCfg(SystemdBootTarget target, string siteName)
    {
        var sb = new StringBuilder();
        sb.Append("# Appliance ISO: the PC BIOS boot menu (isolinux; generated by appliance build). Same entries as the UEFI menu.\n");
        sb.Append("SERIAL 0 115200\n");
        sb.Append("UI menu.c32\n");
        sb.Append($"MENU TITLE Appliance {siteName}\n");
        sb.Append($"TIMEOUT {MenuTimeoutSeconds * 10}\n");
        sb.Append($"DEFAULT {Modes[0].Mode}\n");
        foreach (var (mode, title) in Modes)
        {
            sb.Append($"\nLABEL {mode}\n");
            sb.Append($"  MENU LABEL {title}\n");
            sb.Append($"  LINUX /{BootDirectory}/{SystemdBootTarget.KernelPath(Slot)}\n");
            sb.Append($"  INITRD /{BootDirectory}/{SystemdBootTarget.InitrdPath(Slot)}\n");
            sb.Append($"  APPEND {target.KernelCommandLine(Slot)} appliance.mode={mode}\n");
        }
        return sb.ToString();
    }
}
