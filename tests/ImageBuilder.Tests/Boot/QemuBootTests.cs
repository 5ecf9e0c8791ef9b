// Boots each board's built image in qemu (networking off) and waits for the marker printed by rc.boot inside root-a.
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>
/// One boot per board, with the proven command lines of RECIPES.md. The marker
/// "APPLIANCE-BOOT-OK BOARD" is printed by /usr/lib/appliance/rc.boot in the squashfs root (run by busybox
/// init), so it proves firmware → bootloader → kernel → initramfs → root slot. Drives are opened with
/// snapshot=on: systemd-boot's boot counting renames the entry on the ESP, and the shared image must stay as built.
/// </summary>
[Collection("appliance-boot")]
[Trait("Category", "Boot")]
public sealed class QemuBootTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(6); // a ceiling: on a loaded 2-core host (load 20+) a 12 s ARMv7 boot took over 3 min

    private void Report(BuiltImage img, Qemu.BootResult r, string board)
    {
        output.WriteLine($"{board}: build {img.BuildTime.TotalSeconds:F1}s, image {new FileInfo(img.ImagePath).Length} bytes, marker after {r.Elapsed.TotalSeconds:F1}s");
        Assert.True(r.Found, $"no 'APPLIANCE-BOOT-OK {board}' within {Timeout}; serial log tail:\n{Tail(r.Log)}");
    }

    private static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;

    private static List<string> Uefi(string imagePath, string code, string varsTemplate, string work, bool pciDisk)
    {
        var vars = Path.Combine(work, Guid.NewGuid().ToString("N") + "-vars.fd");
        File.Copy(varsTemplate, vars);
        var a = new List<string> { "-nographic", "-no-reboot", "-nic", "none",
            "-drive", $"if=pflash,format=raw,readonly=on,file={code}", "-drive", $"if=pflash,format=raw,file={vars}" };
        if (pciDisk) a.AddRange(["-drive", $"if=none,id=hd0,format=raw,snapshot=on,file={imagePath}", "-device", "virtio-blk-pci,drive=hd0"]);
        else a.AddRange(["-drive", $"file={imagePath},format=raw,if=virtio,snapshot=on"]);
        return a;
    }

    /// <summary>
    /// A sparse copy of <paramref name="img"/> grown to <paramref name="diskBytes"/>: the image as it lies on a device's
    /// larger disk after a plain dd, its backup GPT no longer at the disk's end.
    /// </summary>
    private static string OnLargerDisk(BuiltImage img, string name, long diskBytes)
    {
        var copy = Path.Combine(BootTestSupport.WorkDir, name + "-" + Guid.NewGuid().ToString("N") + ".img");
        DiskTools.Run("cp", ["--sparse=always", img.ImagePath, copy]);
        Assert.True(new FileInfo(copy).Length < diskBytes, "the image should be smaller than the disk it is written to");
        using (var f = File.OpenWrite(copy)) f.SetLength(diskBytes);
        return copy;
    }

    /// <summary>
    /// x86_64-uefi under OVMF, the image written to a disk of the profile's diskSize as a device gets it: the backup
    /// GPT sits after root-a, not at the disk's end, and firmware, kernel and initramfs still find root-a.
    /// </summary>
    [Fact]
    public void X86_64Uefi_BootsToMarkerUnderOvmf()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64", "mcopy", "cp");
        const string code = "/usr/share/OVMF/OVMF_CODE_4M.fd", vars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
        if (!File.Exists(code)) Assert.Skip("OVMF is not installed (package ovmf)");
        var img = BootTestSupport.Image("x86_64-uefi");
        var disk = OnLargerDisk(img, "disk", BootTestSupport.StandardDiskSize);
        try
        {
            var args = new List<string> { "-m", "512" };
            args.AddRange(Uefi(disk, code, vars, BootTestSupport.WorkDir, pciDisk: false));
            var r = Qemu.BootToMarker("qemu-system-x86_64", args, "APPLIANCE-BOOT-OK x86_64-uefi slot=a data=no", Timeout);
            Report(img, r, "x86_64-uefi");
        }
        finally { File.Delete(disk); }
    }

    /// <summary>
    /// The initramfs mounts the data partition when there is one: a copy of the image on a disk of the profile's
    /// diskSize gets the layout firstboot makes (backup GPT moved to the disk's end, root-b of root-a's size as
    /// partition 3, "data" holding ext4 to the end as partition 4), and rc.boot reports data=yes.
    /// </summary>
    [Fact]
    public void X86_64Uefi_MountsTheDataPartitionWhenPresent()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64", "sgdisk", "mkfs.ext4", "cp");
        const string code = "/usr/share/OVMF/OVMF_CODE_4M.fd", vars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
        if (!File.Exists(code)) Assert.Skip("OVMF is not installed (package ovmf)");
        var img = BootTestSupport.Image("x86_64-uefi");
        var copy = OnLargerDisk(img, "data", BootTestSupport.StandardDiskSize);
        try
        {
            long slotSectors = BootTestSupport.Partitions(img)["root-a"].Size / 512;
            DiskTools.Run("sgdisk", ["-e", copy]);
            DiskTools.Run("sgdisk", ["-n", $"3:0:+{slotSectors}", "-t", "3:8300", "-c", "3:root-b", "-n", "4:0:0", "-t", "4:8300", "-c", "4:data", copy]);
            var info = DiskTools.Run("sgdisk", ["-i", "4", copy]).Out;
            long first = long.Parse(System.Text.RegularExpressions.Regex.Match(info, @"First sector: (\d+)").Groups[1].Value);
            long last = long.Parse(System.Text.RegularExpressions.Regex.Match(info, @"Last sector: (\d+)").Groups[1].Value);
            DiskTools.Run("mkfs.ext4", ["-q", "-F", "-L", "data", "-E", $"offset={first * 512}", copy, $"{(last - first + 1) / 2}k"]);
            var args = new List<string> { "-m", "512" };
            args.AddRange(Uefi(copy, code, vars, BootTestSupport.WorkDir, pciDisk: false));
            var r = Qemu.BootToMarker("qemu-system-x86_64", args, "APPLIANCE-BOOT-OK x86_64-uefi slot=a data=yes", Timeout);
            Report(img, r, "x86_64-uefi");
        }
        finally { File.Delete(copy); }
    }

    /// <summary>
    /// Boot counting is live: after one boot of a writable copy, systemd-boot has renamed the entry
    /// appliance-a+3.conf to appliance-a+2-1.conf (two tries left, one used) on the ESP.
    /// </summary>
    [Fact]
    public void X86_64Uefi_SystemdBootCountsTheTry()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64", "mcopy", "mdir", "cp");
        const string code = "/usr/share/OVMF/OVMF_CODE_4M.fd", vars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
        if (!File.Exists(code)) Assert.Skip("OVMF is not installed (package ovmf)");
        var img = BootTestSupport.Image("x86_64-uefi");
        var copy = Path.Combine(BootTestSupport.WorkDir, "counting-" + Guid.NewGuid().ToString("N") + ".img");
        DiskTools.Run("cp", ["--sparse=always", img.ImagePath, copy]);
        try
        {
            var args = new List<string> { "-m", "512" };
            args.AddRange(Uefi(copy, code, vars, BootTestSupport.WorkDir, pciDisk: false));
            args[^1] = args[^1].Replace(",snapshot=on", "", StringComparison.Ordinal);
            var r = Qemu.BootToMarker("qemu-system-x86_64", args, "APPLIANCE-BOOT-OK x86_64-uefi slot=a", Timeout);
            Report(img, r, "x86_64-uefi");
            var listing = DiskTools.Run("mdir", ["-b", "-i", $"{copy}@@{BootTestSupport.Partitions(img)["boot"].Offset}", "::/loader/entries"]).Out;
            Assert.Contains("appliance-a+2-1.conf", listing);
            Assert.DoesNotContain("appliance-a+3.conf", listing);
        }
        finally { File.Delete(copy); }
    }

    /// <summary>arm64-uefi under AAVMF.</summary>
    [Fact]
    public void Arm64Uefi_BootsToMarkerUnderAavmf()
    {
        BootTestSupport.RequireTools("qemu-system-aarch64", "mcopy");
        const string code = "/usr/share/AAVMF/AAVMF_CODE.fd", vars = "/usr/share/AAVMF/AAVMF_VARS.fd";
        if (!File.Exists(code)) Assert.Skip("AAVMF is not installed (package qemu-efi-aarch64)");
        var img = BootTestSupport.Image("arm64-uefi");
        var args = new List<string> { "-M", "virt", "-cpu", "cortex-a57", "-m", "1024" };
        args.AddRange(Uefi(img.ImagePath, code, vars, BootTestSupport.WorkDir, pciDisk: true));
        var r = Qemu.BootToMarker("qemu-system-aarch64", args, "APPLIANCE-BOOT-OK arm64-uefi slot=a", Timeout);
        Report(img, r, "arm64-uefi");
    }

    /// <summary>armv7-virt under 32-bit ARM UEFI (AAVMF32) with systemd-bootarm.efi.</summary>
    [Fact]
    public void Armv7Virt_BootsToMarkerUnderAavmf32()
    {
        BootTestSupport.RequireTools("qemu-system-arm", "mcopy");
        const string code = "/usr/share/AAVMF/AAVMF32_CODE.fd", vars = "/usr/share/AAVMF/AAVMF32_VARS.fd";
        if (!File.Exists(code)) Assert.Skip("AAVMF32 is not installed (package qemu-efi-arm)");
        var img = BootTestSupport.Image("armv7-virt");
        var args = new List<string> { "-M", "virt", "-cpu", "cortex-a15", "-m", "1024" };
        args.AddRange(Uefi(img.ImagePath, code, vars, BootTestSupport.WorkDir, pciDisk: true));
        var r = Qemu.BootToMarker("qemu-system-arm", args, RuntimeAbsentStatus("armv7-virt"), Timeout);
        Report(img, r, "armv7-virt");
        AssertSaysRuntimeAbsent(r.Log, "armv7-virt");
    }

    /// <summary>The start of the status line rc.boot prints when the image carries no runtime (its last line before init goes on).</summary>
    private static string RuntimeAbsentStatus(string board) => $"Appliance: /run/appliance/status.json: {{\"version\":1,\"board\":\"{board}\"";

    /// <summary>
    /// An image built with runtime.absent: true says so on the console, in the marker, in plain words, and in
    /// /run/appliance/status.json (which rc.boot prints on the console, read here as JSON).
    /// </summary>
    private static void AssertSaysRuntimeAbsent(string log, string board)
    {
        log = log.Replace("\r", "", StringComparison.Ordinal);
        Assert.Contains($"APPLIANCE-BOOT-OK {board} slot=a data=no runtime=absent", log);
        Assert.Matches(@"(?m)^Appliance: this image carries no appliance runtime \(built with runtime\.absent: true: the runtime release has no build for armv7l\); no first boot, no node$", log);
        var line = System.Text.RegularExpressions.Regex.Match(log, @"(?m)^Appliance: /run/appliance/status\.json: (\{.*\})$");
        Assert.True(line.Success, "status.json was not printed on the console:\n" + Tail(log));
        var status = System.Text.Json.Nodes.JsonNode.Parse(line.Groups[1].Value)!;
        Assert.Equal(board, (string?)status["board"]);
        Assert.Equal("a", (string?)status["slot"]);
        Assert.Equal("absent", (string?)status["runtime"]);
        Assert.Equal("absent", (string?)status["node"]!["state"]);
        Assert.Contains("carries no appliance runtime", (string?)status["reason"]);
    }

    /// <summary>
    /// qemu cannot run the Pi firmware, so the kernel, DTB, initramfs and cmdline.txt are taken out of the image's own
    /// boot partition, as the firmware would load them, and the image is the SD card (written to a 2 GiB card). cmdline.txt
    /// says <c>console=serial0,115200</c>; the firmware would replace serial0 by the UART the device tree's serial0 alias
    /// names (<see cref="PiFirmware"/>), and so does this. In Debian's DTBs serial0 is the PL011 (ttyAMA0), and qemu's
    /// raspi machines connect their first -serial to the PL011 (the mini UART is the second: RECIPES.md), which is
    /// what -nographic shows.
    /// </summary>
    private Qemu.BootResult BootPi(BuiltImage img, string qemu, string machine, string dtb, bool singleThread, string marker, bool selftest, TimeSpan timeout,
        params string[] devices)
    {
        BootTestSupport.RequireTools(qemu, "mcopy", "cp");
        var boot = BootTestSupport.Partitions(img)["boot"].Offset;
        using var tmp = new TempDir("pi-boot-");
        var dir = tmp.Path;
        foreach (var f in new[] { "a/vmlinuz", "a/initrd.img", $"a/{dtb}", "a/cmdline.txt" })
            File.WriteAllBytes(Path.Combine(dir, Path.GetFileName(f)), BootTestSupport.ReadFatFile(img.ImagePath, boot, f));
        var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline.txt")).Trim();
        Assert.Contains("console=serial0,115200", cmdline);
        cmdline = PiFirmware.RewriteSerialAliases(cmdline, File.ReadAllBytes(Path.Combine(dir, dtb)));
        Assert.Contains("console=ttyAMA0,115200", cmdline);
        if (selftest) cmdline += " appliance.selftest=reboot";
        var args = new List<string> { "-M", machine };
        if (singleThread) args.AddRange(["-accel", "tcg,thread=single"]);
        var sd = OnLargerDisk(img, "sd", BootTestSupport.StandardDiskSize);
        try
        {
            args.AddRange(["-m", "1G", "-nographic", "-no-reboot", "-nic", "none",
                "-kernel", Path.Combine(dir, "vmlinuz"), "-dtb", Path.Combine(dir, dtb), "-initrd", Path.Combine(dir, "initrd.img"),
                // The image written to an SD card of the standard minimum size: qemu's SD model takes only power-of-two
                // sizes, and the image itself now ends after root-a.
                "-append", cmdline, "-drive", $"file={sd},if=sd,format=raw", .. devices]);
            var r = Qemu.BootToMarker(qemu, args, marker, timeout, waitExit: selftest);
            output.WriteLine($"{img.Board}: build {img.BuildTime.TotalSeconds:F1}s, image {new FileInfo(img.ImagePath).Length} bytes, '{marker}' after {r.Elapsed.TotalSeconds:F1}s");
            Assert.True(r.Found, $"no '{marker}' within {timeout}; serial log tail:\n{Tail(r.Log)}");
            if (selftest) Assert.True(r.ExitCode == 0, $"qemu did not exit cleanly after 'reboot -f' (exit {r.ExitCode}):\n{Tail(r.Log)}");
            return r;
        }
        finally { File.Delete(sd); }
    }

    /// <summary>
    /// An arm64-rpi agent on qemu's raspi3b, from its own boot partition, through first boot: firstboot partitions the
    /// 2 GiB SD card (root-b and data on the MBR), configures the network, starts the agent, and shows its banner on the
    /// serial console as soon as the wait for the node begins, saying the node is waiting and why (its server cannot be
    /// reached), rather than waiting silently for the join's timeout. raspi3b has Ethernet only over its USB host (dwc2),
    /// so the VM gets qemu's usb-net on a restricted user network (no address beyond the VM; 10.0.2.2, the server
    /// named here, does not answer); Linux names that RNDIS/CDC device usb0.
    /// </summary>
    [Fact]
    public void Arm64Rpi_AgentRunsFirstbootOnRaspi3b_BannerSaysItCannotJoin()
    {
        BootTestSupport.RequireOsImage("arm64");
        const string name = "pi-agent", server = "https://10.0.2.2:6443";
        var profile = BootTestSupport.WriteProfile(name, "arm64-rpi", hostname: "pi-agent-1", role: "agent", server: server,
            extraYaml: "network:\n  interfaces:\n    - name: usb0\n      dhcp: true\n");
        var img = BootTestSupport.Build(name, profile, Path.Combine(BootTestSupport.WorkDir, "out", name));
        var r = BootPi(img, "qemu-system-aarch64", "raspi3b", "bcm2837-rpi-3-b.dtb", singleThread: true,
            $"Appliance site {name} (agent), node pi-agent-1: waiting", selftest: false, TimeSpan.FromMinutes(8),
            "-device", "usb-net,netdev=n0", "-netdev", "user,id=n0,restrict=on");
        var log = r.Log.Replace("\r", "", StringComparison.Ordinal);
        output.WriteLine(string.Join("\n", log.Split('\n').Where(l => l.Contains("appliance-firstboot: network:", StringComparison.Ordinal) || l.StartsWith("  ", StringComparison.Ordinal))));
        Assert.Contains("appliance-firstboot: partition: mbr table written: root-b #3, data #4", log);
        Assert.Contains("appliance-firstboot: network: usb0 DhcpBound 10.0.2.15/24", log);
        Assert.Matches(@"(?m)^  WAITING   node pi-agent-1 not Ready yet: .*the agent has not joined https://10\.0\.2\.2:6443 yet, which cannot be reached", log);
    }

    /// <summary>armv7-rpi on qemu's raspi2b: no runtime in this image, and the console says so.</summary>
    [Fact]
    public void Armv7Rpi_BootsToMarkerOnRaspi2b()
    {
        var img = BootTestSupport.Image("armv7-rpi");
        var r = BootPi(img, "qemu-system-arm", "raspi2b", "bcm2836-rpi-2-b.dtb", singleThread: false, RuntimeAbsentStatus("armv7-rpi"), selftest: true, Timeout);
        AssertSaysRuntimeAbsent(r.Log, "armv7-rpi");
    }
}
