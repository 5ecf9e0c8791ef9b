// Boots the x86_64-uefi ISO in qemu, networking off, to the live appliance: OVMF and SeaBIOS from a CD-ROM, OVMF from a USB stick.
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
    // 30 s to the banner on a quiet 2-core machine, as from a CD; the margin is for a loaded one.
    private static readonly TimeSpan UsbTimeout = TimeSpan.FromMinutes(8);
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

    /// <summary>
    /// The ISO file as a USB stick: a read-only usb-storage disk on an xHCI (USB 3) controller of a q35 (PCIe) machine,
    /// as on a current PC; i440fx or EHCI take about as long on a quiet machine (src/ImageBuilder/Build/README.md, "Booting from USB").
    /// </summary>
    private static List<string> UsbStick(string iso) =>
        ["-machine", "q35", "-device", "qemu-xhci,id=xhci", "-drive", $"if=none,id=stick,format=raw,readonly=on,file={iso}",
         "-device", "usb-storage,bus=xhci.0,drive=stick,removable=on"];

    /// <summary>Boots to the marker, then to firstboot's banner; reports both times.</summary>
    private void BootLive(string what, List<string> firmware, List<string> medium, string iso, TimeSpan timeout)
    {
        List<string> args = ["-m", "1024", "-nographic", "-no-reboot", "-nic", "none", .. firmware, .. medium];
        var r = Qemu.BootToMarker("qemu-system-x86_64", args, Banner, timeout);
        int marker = r.Log.IndexOf(Marker, StringComparison.Ordinal);
        output.WriteLine($"{what}: banner after {r.Elapsed.TotalSeconds:F1}s (ISO {new FileInfo(iso).Length} bytes)");
        Assert.True(marker >= 0, $"{what}: no '{Marker}' within {timeout}; serial log tail:\n{Tail(r.Log)}");
        Assert.True(r.Found, $"{what}: the marker came, but not firstboot's banner '{Banner}' within {timeout}; serial log tail:\n{Tail(r.Log)}");
        Assert.True(r.Log.IndexOf(Banner, StringComparison.Ordinal) > marker, "the banner should follow the marker");
    }

    /// <summary>OVMF boots the ISO from a CD-ROM through the El Torito EFI entry (systemd-boot, default "Appliance (live)").</summary>
    [Fact]
    public void Ovmf_Cdrom_BootsLive()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64");
        var firmware = Ovmf();
        var iso = IsoSupport.Iso(Board).IsoPath;
        BootLive("OVMF CD-ROM", firmware, Cdrom(iso), iso, Timeout);
    }

    /// <summary>qemu's default BIOS (SeaBIOS) boots the ISO from a CD-ROM through the El Torito BIOS entry (isolinux, default "live").</summary>
    [Fact]
    public void SeaBios_Cdrom_BootsLive()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64");
        var iso = IsoSupport.Iso(Board).IsoPath;
        BootLive("SeaBIOS CD-ROM", [], Cdrom(iso), iso, Timeout);
    }

    /// <summary>
    /// OVMF boots the same file attached as a USB disk (<see cref="UsbStick"/>): the hybrid GPT's EFI partition holds the
    /// ESP, systemd-boot's default entry starts the kernel, and the initramfs (usb_storage, xhci_pci from the kit's
    /// generic kernel) finds the iso9660 medium on the stick (src/ImageBuilder/Build/README.md, "Booting from USB").
    /// </summary>
    [Fact]
    public void Ovmf_UsbStick_BootsLive()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64");
        var firmware = Ovmf();
        var iso = IsoSupport.Iso(Board).IsoPath;
        BootLive("OVMF USB stick", firmware, UsbStick(iso), iso, UsbTimeout);
    }
}
