// Boots the x86_64-uefi ISO in qemu, networking off: OVMF and SeaBIOS from a CD-ROM to the live appliance, OVMF from a USB stick to the menu.
namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>
/// The ISO's default menu entry boots the appliance live: the initramfs finds the medium, mounts its
/// appliance/root.squashfs under the tmpfs overlay and data in RAM, and rc.boot prints the marker with
/// <c>data=ram mode=live</c>; firstboot then runs from the medium and prints its banner ("from the medium (live)").
/// </summary>
[Collection("appliance-boot")]
[Trait("Category", "Boot")]
public sealed class IsoBootTests(ITestOutputHelper output)
{
    private const string Board = "x86_64-uefi";
    private const string Marker = "APPLIANCE-BOOT-OK x86_64-uefi slot=a data=ram mode=live";
    private const string Banner = "from the medium (live)";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private const string OvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd", OvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";

    private static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;

    private static List<string> Ovmf()
    {
        if (!File.Exists(OvmfCode)) Assert.Skip("OVMF is not installed (package ovmf)");
        var vars = Path.Combine(BootTestSupport.WorkDir, Guid.NewGuid().ToString("N") + "-vars.fd");
        File.Copy(OvmfVars, vars);
        return ["-drive", $"if=pflash,format=raw,readonly=on,file={OvmfCode}", "-drive", $"if=pflash,format=raw,file={vars}"];
    }

    private static List<string> Cdrom(string iso) => ["-drive", $"file={iso},format=raw,media=cdrom,readonly=on"];

    /// <summary>Boots to the marker, then to firstboot's banner; reports both times.</summary>
    private void BootLive(string what, List<string> firmware, string iso)
    {
        List<string> args = ["-m", "1024", "-nographic", "-no-reboot", "-nic", "none", .. firmware, .. Cdrom(iso)];
        var r = Qemu.BootToMarker("qemu-system-x86_64", args, Banner, Timeout);
        int marker = r.Log.IndexOf(Marker, StringComparison.Ordinal);
        output.WriteLine($"{what}: banner after {r.Elapsed.TotalSeconds:F1}s (ISO {new FileInfo(iso).Length} bytes)");
        Assert.True(marker >= 0, $"{what}: no '{Marker}' within {Timeout}; serial log tail:\n{Tail(r.Log)}");
        Assert.True(r.Found, $"{what}: the marker came, but not firstboot's banner '{Banner}' within {Timeout}; serial log tail:\n{Tail(r.Log)}");
        Assert.True(r.Log.IndexOf(Banner, StringComparison.Ordinal) > marker, "the banner should follow the marker");
    }

    /// <summary>OVMF boots the ISO from a CD-ROM through the El Torito EFI entry (systemd-boot, default "Appliance (live)").</summary>
    [Fact]
    public void Ovmf_Cdrom_BootsLive()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64");
        var firmware = Ovmf();
        BootLive("OVMF CD-ROM", firmware, IsoSupport.Iso(Board).IsoPath);
    }

    /// <summary>qemu's default BIOS (SeaBIOS) boots the ISO from a CD-ROM through the El Torito BIOS entry (isolinux, default "live").</summary>
    [Fact]
    public void SeaBios_Cdrom_BootsLive()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64");
        BootLive("SeaBIOS CD-ROM", [], IsoSupport.Iso(Board).IsoPath);
    }

    /// <summary>
    /// OVMF boots the same file attached as a USB disk (xHCI + usb-storage): the hybrid GPT's EFI partition holds the
    /// ESP, and systemd-boot's menu comes up from it. The boot stops there: the kit's kernel (Debian cloud-amd64) is built
    /// without USB support, so Linux could not read the stick, and OVMF's USB reads under TCG take minutes for the kernel
    /// and initramfs (IsoImage's README, "Booting from USB").
    /// </summary>
    [Fact]
    public void Ovmf_UsbStick_BootsToTheMenu()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64");
        var firmware = Ovmf();
        var iso = IsoSupport.Iso(Board).IsoPath;
        List<string> args = ["-m", "1024", "-nographic", "-no-reboot", "-nic", "none", .. firmware,
            "-device", "qemu-xhci", "-drive", $"if=none,id=stick,format=raw,readonly=on,file={iso}", "-device", "usb-storage,drive=stick,removable=on"];
        var r = Qemu.BootToMarker("qemu-system-x86_64", args, "Install appliance", Timeout);
        output.WriteLine($"OVMF USB: menu after {r.Elapsed.TotalSeconds:F1}s");
        Assert.True(r.Found, $"OVMF did not show the ISO's menu from the USB disk within {Timeout}; serial log tail:\n{Tail(r.Log)}");
        Assert.Contains("Appliance (live)", r.Log);
    }
}
