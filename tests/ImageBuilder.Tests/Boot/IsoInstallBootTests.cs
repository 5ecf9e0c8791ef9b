// The ISO's installer in qemu: "Install appliance" chosen on the serial console writes an empty 8 GiB disk, which then boots alone to a Ready node.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>
/// OVMF boots the x86_64-uefi ISO from a CD-ROM with an empty 8 GiB virtio disk attached. The test chooses "Install
/// appliance" in systemd-boot's menu as a user at the serial console would (the arrow key towards it, then Enter),
/// and waits for the installer's banner and for qemu to exit when the machine powers off. Then the disk boots alone
/// (no ISO, fresh firmware variables, user networking with <c>restrict=on</c>) and first boot brings the node to Ready.
/// </summary>
[Collection("appliance-boot")]
[Trait("Category", "Boot")]
public sealed class IsoInstallBootTests(ITestOutputHelper output)
{
    private const string Board = "x86_64-uefi";
    private const string OvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd", OvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
    private const string InstallEntry = "Install appliance", LiveEntry = "Appliance (live)";

    private static string Tail(string log) => log.Length > 6000 ? log[^6000..] : log;

    private static string Vars()
    {
        if (!File.Exists(OvmfCode)) Assert.Skip("OVMF is not installed (package ovmf)");
        var vars = Path.Combine(BootTestSupport.WorkDir, Guid.NewGuid().ToString("N") + "-vars.fd");
        File.Copy(OvmfVars, vars);
        return vars;
    }

    [Fact]
    public async Task InstallFromTheIso_ThenTheDiskAloneBootsToAReadyNode()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64");
        var iso = IsoSupport.Iso(Board);
        var disk = Path.Combine(BootTestSupport.WorkDir, "install-target.img");
        File.Delete(disk);
        using (var f = File.Create(disk)) f.SetLength(8L << 30);

        // 1. The installer: the ISO as a CD-ROM, the empty disk on virtio, no network.
        await using (var vm = Vm.Start(BootTestSupport.WorkDir, "installer", [
            "-m", "2048", "-display", "none", "-no-reboot", "-nic", "none",
            "-drive", $"if=pflash,format=raw,readonly=on,file={OvmfCode}", "-drive", $"if=pflash,format=raw,file={Vars()}",
            "-drive", $"file={iso.IsoPath},format=raw,media=cdrom,readonly=on",
            "-drive", $"file={disk},format=raw,if=virtio"]))
        {
            Assert.True(await vm.WaitFor(l => l.Contains(InstallEntry) && l.Contains(LiveEntry), TimeSpan.FromMinutes(2)),
                $"no boot menu listing '{InstallEntry}' and '{LiveEntry}'; serial log tail:\n{Tail(vm.Log)}");
            var menuAt = vm.Elapsed;
            // The menu starts on its default, the live entry: one step towards "Install appliance", wherever the loader listed it.
            var log = vm.Log;
            bool installAbove = log.LastIndexOf(InstallEntry, StringComparison.Ordinal) < log.LastIndexOf(LiveEntry, StringComparison.Ordinal);
            await vm.Type(installAbove ? "\x1b[A" : "\x1b[B");
            await Task.Delay(500, TestContext.Current.CancellationToken);
            await vm.Type("\r");
            var poweredOff = await vm.WaitForExit(TimeSpan.FromMinutes(6));
            var installLog = vm.Log;
            output.WriteLine($"installer: menu after {menuAt.TotalSeconds:F1} s, qemu exited after {vm.Elapsed.TotalSeconds:F1} s (exit {vm.ExitCode})");
            Assert.True(installLog.Contains("mode=install"), $"the install entry did not boot; serial log tail:\n{Tail(installLog)}");
            Assert.True(poweredOff, $"the installer did not power the machine off; serial log tail:\n{Tail(installLog)}");
            Assert.Contains("INSTALLED to /dev/vda: remove the medium; the machine powers off", installLog);
            Assert.Contains("root-a read back from /dev/vda: SHA-256", installLog);
            foreach (var line in installLog.Split('\n').Where(l => l.Contains("appliance-firstboot: install:")))
                output.WriteLine("  " + line.Trim());
        }
        var table = ProcessRunner.Run("sfdisk", ["--dump", disk]);
        output.WriteLine(table.Out);
        Assert.Contains("name=\"root-a\"", table.Out);

        // 2. The disk alone, as a new machine: first boot partitions it and brings the node up.
        const string ready = "node node1: Ready";
        await using var booted = Vm.Start(BootTestSupport.WorkDir, "installed", [
            "-m", "3072", "-smp", "2", "-display", "none", "-no-reboot",
            "-drive", $"if=pflash,format=raw,readonly=on,file={OvmfCode}", "-drive", $"if=pflash,format=raw,file={Vars()}",
            "-drive", $"file={disk},format=raw,if=virtio", "-nic", "user,model=virtio-net-pci,restrict=on"]);
        bool up = await booted.WaitFor(l => l.Contains(ready) || l.Contains("FAILED    at"), TimeSpan.FromMinutes(6));
        output.WriteLine($"installed disk: power-on to '{ready}' after {booted.Elapsed.TotalSeconds:F1} s");
        Assert.True(up && booted.Log.Contains(ready), $"the installed disk did not come up Ready; serial log tail:\n{Tail(booted.Log)}");
        Assert.Contains("partition: gpt table written: root-b #3, data #4", booted.Log);
        Assert.Contains("slot a", booted.Log);
    }

    /// <summary>A qemu whose serial console is a unix socket the test reads and types on.</summary>
    private sealed class Vm : IAsyncDisposable
    {
        private readonly ChildProcess _qemu;
        private readonly Socket _serial;
        private readonly StringBuilder _log = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Task _reader;

        private Vm(ChildProcess qemu, Socket serial)
        {
            _qemu = qemu;
            _serial = serial;
            _reader = Task.Run(async () =>
            {
                var buf = new byte[8192];
                try
                {
                    int n;
                    while ((n = await _serial.ReceiveAsync(buf)) > 0)
                        lock (_log) _log.Append(Encoding.UTF8.GetString(buf, 0, n));
                }
                catch (SocketException) { }
                catch (ObjectDisposedException) { }
            });
        }

        public string Log { get { lock (_log) return _log.ToString() + _qemu.Error; } }
        public TimeSpan Elapsed => _clock.Elapsed;
        public int? ExitCode => _qemu.HasExited ? _qemu.ExitCode : null;

        public static Vm Start(string dir, string name, List<string> args)
        {
            var sock = Path.Combine(dir, $"{name}-{Guid.NewGuid():N}.sock");
            var qemu = ProcessRunner.Start("qemu-system-x86_64", [.. args, "-chardev", $"socket,id=ser0,path={sock},server=on,wait=on", "-serial", "chardev:ser0"]);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    s.Connect(new UnixDomainSocketEndPoint(sock));
                    return new Vm(qemu, s);
                }
                catch (SocketException) when (DateTime.UtcNow < deadline && !qemu.HasExited)
                {
                    s.Dispose();
                    Thread.Sleep(100);
                }
            }
        }

        /// <summary>Polls the serial log (qemu's own output stays quiet, so output events cannot be waited on).</summary>
        public async Task<bool> WaitFor(Func<string, bool> seen, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                if (seen(Log)) return true;
                if (_qemu.HasExited) { await Task.Delay(500, TestContext.Current.CancellationToken); return seen(Log); }
                await Task.Delay(250, TestContext.Current.CancellationToken);
            }
            return seen(Log);
        }

        public Task<bool> WaitForExit(TimeSpan timeout) => WaitFor(_ => _qemu.HasExited, timeout);

        public async Task Type(string keys) => await _serial.SendAsync(Encoding.ASCII.GetBytes(keys));

        public async ValueTask DisposeAsync()
        {
            _qemu.Kill();
            _serial.Dispose();
            await _reader;
            _qemu.Dispose();
        }
    }
}
