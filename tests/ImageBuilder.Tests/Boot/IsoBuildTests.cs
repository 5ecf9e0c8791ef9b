// What a target.format: iso build writes, checked by xorriso, isoinfo, osirrox, mtools and fsck.fat, and its reproducibility.
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>The ISO's contract with the installer and the live boot (Build/README.md, "ISO").</summary>
[Collection("appliance-boot")]
[Trait("Category", "External")]
public sealed class IsoBuildTests
{
    private const string Board = "x86_64-uefi";

    /// <summary>The ISO holds root-a's SquashFS byte for byte: the same bytes as the raw image's root-a content.</summary>
    [Fact]
    public void RootSquashfs_IsRootA_OfTheRawImage()
    {
        var built = IsoSupport.Iso(Board);
        var dir = IsoSupport.Extract(built.IsoPath);
        var squash = Path.Combine(dir, "appliance", "root.squashfs");
        using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(built.Raw.ManifestPath));
        var rootA = manifest.RootElement.GetProperty("partitions").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "root-a");
        long offset = rootA.GetProperty("offset").GetInt64(), length = rootA.GetProperty("contentBytes").GetInt64();
        Assert.Equal(length, new FileInfo(squash).Length);
        Assert.Equal(Convert.ToHexString(Appliance.Common.FileSha256.Hash(built.Raw.ImagePath, offset, length)), DiskTools.Sha256(squash), ignoreCase: true);
    }

    /// <summary>
    /// The paths the installer and the live boot rely on, read by isoinfo (Rock Ridge names); appliance/boot holds every
    /// file of the raw image's boot partition, byte for byte; the El Torito catalog lists BIOS first, then UEFI.
    /// </summary>
    [Fact]
    public void Contents_HoldTheContractPaths_AndTheBootPartition()
    {
        BootTestSupport.RequireTools("isoinfo", "xorriso", "mcopy");
        var built = IsoSupport.Iso(Board);
        var name = IsoSupport.SiteName(Board);
        var listing = DiskTools.Run("isoinfo", ["-R", "-f", "-i", built.IsoPath]).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        foreach (var path in new[]
        {
            "/appliance/root.squashfs", "/appliance/boot/a/vmlinuz", "/appliance/boot/a/initrd.img", "/appliance/boot/appliance/site.yaml",
            "/appliance/boot/EFI/BOOT/BOOTX64.EFI", "/appliance/boot/loader/loader.conf", "/appliance/install/layout.json",
            $"/appliance/{name}.manifest.json", $"/appliance/{name}.manifest.json.sigstore.json",
            "/boot/efiboot.img", "/isolinux/isolinux.bin", "/isolinux/ldlinux.c32", "/isolinux/isolinux.cfg",
        })
            Assert.True(listing.Contains(path), $"{path} is not in the ISO; isoinfo lists:\n{string.Join("\n", listing.Order())}");

        var torito = DiskTools.Run("xorriso", ["-indev", built.IsoPath, "-report_el_torito", "plain"]).Out;
        Assert.Matches(@"El Torito boot img :\s+1\s+BIOS", torito);
        Assert.Matches(@"El Torito boot img :\s+2\s+UEFI", torito);
        Assert.Contains("/isolinux/isolinux.bin", torito);
        Assert.Contains("/boot/efiboot.img", torito);

        var dir = IsoSupport.Extract(built.IsoPath);
        var boot = BootTestSupport.FatDigests(built.Raw.ImagePath, BootTestSupport.Partitions(built.Raw)["boot"].Offset);
        Assert.Equal(boot, DiskTools.FileDigests(Path.Combine(dir, "appliance", "boot")));
        Assert.Equal(File.ReadAllBytes(built.Raw.ManifestPath), File.ReadAllBytes(Path.Combine(dir, "appliance", $"{name}.manifest.json")));
        Assert.Equal("ISO_X86_64_UEFI", DiskTools.Run("isoinfo", ["-d", "-i", built.IsoPath]).Out.Split('\n')
            .Single(l => l.StartsWith("Volume id:", StringComparison.Ordinal))["Volume id:".Length..].Trim());
    }

    /// <summary>
    /// The ESP image (checked by fsck.fat) carries systemd-boot, the kernel and initramfs, and the two-entry menu; isolinux.cfg
    /// has the same entries with the same command lines.
    /// </summary>
    [Fact]
    public void BootMenus_OfferLiveByDefault_AndInstall()
    {
        BootTestSupport.RequireTools("mcopy", "fsck.fat");
        var built = IsoSupport.Iso(Board);
        var dir = IsoSupport.Extract(built.IsoPath);
        var esp = Path.Combine(dir, "boot", "efiboot.img");
        DiskTools.Run("fsck.fat", ["-n", esp]);
        var files = BootTestSupport.FatDigests(esp, 0);
        Assert.Equal(["EFI/BOOT/BOOTX64.EFI", "a/initrd.img", "a/vmlinuz", "loader/entries/appliance-install.conf", "loader/entries/appliance-live.conf", "loader/loader.conf"],
            files.Keys.Order(StringComparer.Ordinal));
        var loader = System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(esp, 0, "loader/loader.conf"));
        Assert.Contains("default appliance-live.conf", loader);
        Assert.Contains("timeout 5", loader);
        var live = System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(esp, 0, "loader/entries/appliance-live.conf"));
        var install = System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(esp, 0, "loader/entries/appliance-install.conf"));
        Assert.Contains("title Appliance (live)", live);
        Assert.Contains("title Install appliance", install);
        string Options(string entry) => entry.Split('\n').Single(l => l.StartsWith("options ", StringComparison.Ordinal))["options ".Length..];
        Assert.EndsWith(" appliance.mode=live", Options(live));
        Assert.EndsWith(" appliance.mode=install", Options(install));
        Assert.Contains("console=ttyS0,115200", Options(live));

        var cfg = File.ReadAllText(Path.Combine(dir, "isolinux", "isolinux.cfg"));
        Assert.Contains("DEFAULT live", cfg);
        Assert.Contains($"APPEND {Options(live)}\n", cfg);
        Assert.Contains($"APPEND {Options(install)}\n", cfg);
        Assert.Contains("LINUX /appliance/boot/a/vmlinuz", cfg);
        Assert.Contains("INITRD /appliance/boot/a/initrd.img", cfg);
    }

    /// <summary>The ISO's bundle verifies against the build key, like the image's.</summary>
    [Fact]
    public void Iso_IsSigned()
    {
        var built = IsoSupport.Iso(Board);
        Assert.True(File.Exists(built.IsoPath + ".sigstore.json"), "no bundle next to the ISO");
        var r = CliRunner.Run("verify", built.IsoPath, "--key", BootTestSupport.PublicKeyPath);
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
    }

    /// <summary>The same profile built again gives the same ISO bytes (and bundle).</summary>
    [Fact]
    public void Rebuild_GivesTheSameIso()
    {
        var first = IsoSupport.Iso(Board);
        var again = BootTestSupport.Build(IsoSupport.SiteName(Board), IsoSupport.Profile(Board), Path.Combine(BootTestSupport.WorkDir, "iso-again"), BootTestSupport.SigningEnv);
        var second = Path.ChangeExtension(again.ImagePath, ".iso");
        Assert.Equal(new FileInfo(first.IsoPath).Length, new FileInfo(second).Length);
        Assert.Equal(DiskTools.Sha256(first.IsoPath), DiskTools.Sha256(second));
        Assert.Equal(File.ReadAllBytes(first.IsoPath + ".sigstore.json"), File.ReadAllBytes(second + ".sigstore.json"));
    }

    /// <summary>A raw build of the same site removes the ISO an earlier iso build left, which no longer matches its manifest.</summary>
    [Fact]
    public void RawBuild_RemovesAnEarlierIso()
    {
        BootTestSupport.RequireOsImage("amd64");
        const string name = "iso-then-raw";
        var outDir = Path.Combine(BootTestSupport.WorkDir, name);
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, name + ".iso"), "stale");
        File.WriteAllText(Path.Combine(outDir, name + ".iso.sigstore.json"), "stale");
        BootTestSupport.Build(name, BootTestSupport.WriteProfile(name, Board), outDir);
        Assert.False(File.Exists(Path.Combine(outDir, name + ".iso")));
        Assert.False(File.Exists(Path.Combine(outDir, name + ".iso.sigstore.json")));
    }
}
