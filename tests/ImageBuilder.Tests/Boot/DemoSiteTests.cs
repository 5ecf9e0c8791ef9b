// The README's two demo commands, end to end: build the demo image, boot it in qemu offline, reach the node with kubectl.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Appliance.ImageBuilder.Tests.Disk;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>
/// Runs <c>scripts/build-demo.sh</c> and <c>scripts/run-demo.sh</c> as a user would (into a temp output and store),
/// so the image carries the published runtime, the cluster PKI and the demo app. The VM has no network but a
/// restricted user network forwarding the API port; kubectl on the host uses the build's NAME.kubeconfig.
/// Then a clean power-off and a second boot of the same disk, and checks of the disk itself.
/// </summary>
[Collection("appliance-boot")]
[Trait("Category", "Boot")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DemoSiteTests(ITestOutputHelper output)
{
    [Fact]
    public void Demo_BootsOffline_NodeReady_AppAvailable_SecondBootKeepsData_BootPartitionHoldsNoSecret()
    {
        BootTestSupport.RequireTools("qemu-system-x86_64", "mdir", "kubectl");
        using var tmp = new TempDir("demo-site-");
        var d = BuildDemo(tmp.Path, "x86_64-uefi", "demo-x86", []);
        var env = d.Env;
        var sw = Stopwatch.StartNew();
        try
        {
            var first = Run("bash", [Script("run-demo.sh")], env, TimeSpan.FromMinutes(30));
            output.WriteLine($"first boot to node Ready and demo Available: {sw.Elapsed.TotalSeconds:F0} s\n{first.Out}{first.Error}");
            Assert.Contains("demo-x86", first.Out);
            Assert.Matches(@"hello-\S+\s+1/1\s+Running", first.Out);
            var logs = Kubectl(d.Kubeconfig, d.Port, "logs", "deployment/hello");
            Assert.Contains("hello: serving on :8080", logs);
            Kubectl(d.Kubeconfig, d.Port, "create", "configmap", "kept-across-boots", "--from-literal=k=v");

            Run("bash", [Script("run-demo.sh"), "--stop"], env, TimeSpan.FromMinutes(3));
            sw.Restart();
            var second = Run("bash", [Script("run-demo.sh"), "--again"], env, TimeSpan.FromMinutes(30));
            output.WriteLine($"second boot to node Ready and demo Available: {sw.Elapsed.TotalSeconds:F0} s");
            Assert.Contains("k=v", Kubectl(d.Kubeconfig, d.Port, "get", "configmap", "kept-across-boots", "-o", "jsonpath=k={.data.k}"));
            Run("bash", [Script("run-demo.sh"), "--stop"], env, TimeSpan.FromMinutes(3));
        }
        finally
        {
            BootTestSupport.StopVm(Path.Combine(d.RunDir, "qemu.pid"));
        }

        var disk = Path.Combine(d.RunDir, "disk.img");
        var token = File.ReadAllText(Path.Combine(BootTestSupport.RepoRoot, "profiles", "pki", "demo", "token")).Trim();
        var parts = Sgdisk(disk);
        Assert.Contains("root-b", parts.Keys);
        Assert.Contains("data", parts.Keys);
        var boot = parts.Values.OrderBy(p => p.Offset).First();
        var listing = Run("mdir", ["-/", "-i", $"{disk}@@{boot.Offset}", "::/appliance"], null, TimeSpan.FromMinutes(1)).Out;
        Assert.DoesNotContain("token", listing, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(".key", listing, StringComparison.OrdinalIgnoreCase);
        Assert.False(Contains(disk, boot.Offset, boot.Size, Encoding.ASCII.GetBytes(token)), "the boot partition (free clusters included) still holds the token's bytes");

        // The data partition, read-only on the host: the second boot imported nothing again, firstboot's status says Ready.
        if (LoopDevice.Unavailable() is { } why) { output.WriteLine("data partition not inspected: " + why); return; }
        using var loop = LoopDevice.Attach(disk);
        using var mnt = new TempDir("demo-data-");
        Run("mount", ["-o", "ro", loop.Partition(4), mnt.Path], null, TimeSpan.FromMinutes(1));
        try
        {
            var log = string.Join("\n", Directory.GetFiles(Path.Combine(mnt.Path, "logs"), "appliance-runtime.log*").Order().Select(File.ReadAllText));
            var imports = log.Split('\n').Where(l => l.Contains("archive(s) imported")).ToList();
            output.WriteLine(string.Join("\n", imports));
            Assert.True(imports.Count >= 2, "expected one import summary per boot:\n" + string.Join("\n", imports));
            Assert.Contains("0 archive(s) imported, 2 unchanged, 0 failed", imports[^1]);
            var status = File.ReadAllText(Path.Combine(mnt.Path, "firstboot", "status.json"));
            Assert.Contains("\"Ready\"", status);
            Assert.False(File.Exists(Path.Combine(mnt.Path, "runtime", "token")) && (File.GetUnixFileMode(Path.Combine(mnt.Path, "runtime", "token")) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0,
                "the token on the data partition is readable by others");
        }
        finally
        {
            ProcessRunner.Run("umount", [mnt.Path]);
        }
    }

    /// <summary>
    /// The README's ARM64 commands: <c>build-demo.sh --board arm64-uefi</c>, then <c>run-demo.sh --board arm64-uefi</c>
    /// boots it under qemu-system-aarch64 (virt, cortex-a57) with AAVMF, under software emulation, until the node is Ready
    /// and the demo app Available; kubectl on the host checks the node is arm64 and reads the app's log, and the
    /// runtime's resident memory is read on the VM's serial console. One boot (the x86 test covers the second boot).
    /// </summary>
    [Fact]
    public void Arm64Demo_BootsUnderAavmf_NodeReady_AppAvailable()
    {
        BootTestSupport.RequireTools("qemu-system-aarch64", "kubectl");
        if (!File.Exists("/usr/share/AAVMF/AAVMF_CODE.fd")) Assert.Skip("AAVMF is not installed (package qemu-efi-aarch64)");
        using var tmp = new TempDir("demo-arm64-");
        string[] board = ["--board", "arm64-uefi"];
        var d = BuildDemo(tmp.Path, "arm64-uefi", "demo-arm64", board);
        try
        {
            var sw = Stopwatch.StartNew();
            var first = Run("bash", [Script("run-demo.sh"), .. board], d.Env, TimeSpan.FromMinutes(40));
            output.WriteLine($"arm64 first boot to node Ready and demo Available: {sw.Elapsed.TotalSeconds:F0} s\n{first.Out}{first.Error}");
            Assert.Matches(@"node/demo-arm64\s+Ready", first.Out);
            Assert.Matches(@"hello-\S+\s+1/1\s+Running", first.Out);
            Assert.Equal("arm64", Kubectl(d.Kubeconfig, d.Port, "get", "node", "demo-arm64", "-o", "jsonpath={.status.nodeInfo.architecture}").Trim());
            Assert.Contains("hello: serving on :8080", Kubectl(d.Kubeconfig, d.Port, "logs", "deployment/hello"));

            var rss = TypeOnConsole(d.RunDir, """for p in appliance-runtime containerd; do for i in $(busybox pidof $p); do echo "RSS $p $(grep VmRSS /proc/$i/status)"; done; done""",
                @"RSS containerd VmRSS:\s+\d+ kB", TimeSpan.FromMinutes(2));
            var runtimeRss = System.Text.RegularExpressions.Regex.Match(rss, @"RSS appliance-runtime VmRSS:\s+(\d+) kB");
            Assert.True(runtimeRss.Success, "no VmRSS of appliance-runtime on the console:\n" + rss[^Math.Min(rss.Length, 2000)..]);
            output.WriteLine($"inside the VM: {string.Join("; ", System.Text.RegularExpressions.Regex.Matches(rss, @"RSS \S+ VmRSS:\s+\d+ kB").Select(m => m.Value))}");
            Run("bash", [Script("run-demo.sh"), "--stop", .. board], d.Env, TimeSpan.FromMinutes(3));
        }
        finally
        {
            BootTestSupport.StopVm(Path.Combine(d.RunDir, "qemu.pid"));
        }
    }

    private sealed record Demo(Dictionary<string, string?> Env, int Port, string Kubeconfig, string RunDir);

    private static string Script(string name) => Path.Combine(BootTestSupport.RepoRoot, "scripts", name);

    /// <summary>Runs build-demo.sh for <paramref name="board"/> into a temp output and store; the runtime release is the one the boot tests take (APPLIANCE_RUNTIME_IMAGE) when set.</summary>
    private Demo BuildDemo(string tmp, string board, string name, string[] args)
    {
        var outDir = Path.Combine(tmp, "out");
        var port = BootTestSupport.FreePort();
        var env = new Dictionary<string, string?>
        {
            ["OUT"] = outDir, ["APPLIANCE_STORE"] = Path.Combine(tmp, "store"), ["PORT"] = port.ToString(), ["TIMEOUT"] = "1500",
        };
        var sw = Stopwatch.StartNew();
        Run("bash", [Script("build-demo.sh"), .. args], env, TimeSpan.FromMinutes(20));
        var demo = Path.Combine(outDir, "demo");
        output.WriteLine($"build-demo.sh ({board}): {sw.Elapsed.TotalSeconds:F0} s; image file {new FileInfo(Path.Combine(demo, name + ".img")).Length} bytes " +
                         $"({new FileInfo(Path.Combine(demo, name + ".img")).Length >> 20} MiB)");
        return new Demo(env, port, Path.Combine(demo, name + ".kubeconfig"), Path.Combine(demo, "run-" + name));
    }

    /// <summary>
    /// Types <paramref name="command"/> on the VM's serial console (console.sock, as run-demo.sh's --stop does: Enter
    /// first, since the console shell starts on Enter) and returns the console log once <paramref name="until"/> matches.
    /// </summary>
    private static string TypeOnConsole(string runDir, string command, string until, TimeSpan timeout)
    {
        var log = Path.Combine(runDir, "console.log");
        using (var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            s.Connect(new UnixDomainSocketEndPoint(Path.Combine(runDir, "console.sock")));
            s.Send("\r"u8);
            Thread.Sleep(1000);
            s.Send(Encoding.UTF8.GetBytes(command + "\r"));
            Thread.Sleep(1000);
        }
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var text = File.ReadAllText(log);
            if (System.Text.RegularExpressions.Regex.IsMatch(text, until)) return text;
            Assert.True(sw.Elapsed < timeout, $"'{until}' did not appear on the console within {timeout}:\n{text[^Math.Min(text.Length, 3000)..]}");
            Thread.Sleep(2000);
        }
    }

    private ProcessResult Run(string file, string[] args, IReadOnlyDictionary<string, string?>? env, TimeSpan timeout)
    {
        var r = ProcessRunner.Run(file, args, new ProcessOptions { Environment = env, Timeout = timeout, WorkingDirectory = BootTestSupport.RepoRoot });
        Assert.True(r.ExitCode == 0, $"{r.Command} exited {r.ExitCode}:\n{r.Out}\n{r.Error}");
        return r;
    }

    private string Kubectl(string kubeconfig, int port, params string[] args) =>
        Run("kubectl", ["--kubeconfig", kubeconfig, "--server", $"https://127.0.0.1:{port}", "--request-timeout", "60s", .. args], null, TimeSpan.FromMinutes(2)).Out;

    /// <summary>Partitions by GPT name, with byte offset and size, from sgdisk.</summary>
    private Dictionary<string, (long Offset, long Size)> Sgdisk(string disk)
    {
        var result = new Dictionary<string, (long, long)>();
        foreach (var line in Run("sgdisk", ["-p", disk], null, TimeSpan.FromMinutes(1)).Out.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 7 && int.TryParse(f[0], out _) && long.TryParse(f[1], out var first) && long.TryParse(f[2], out var last))
                result[f[^1]] = (first * 512, (last - first + 1) * 512);
        }
        return result;
    }

    private static bool Contains(string file, long offset, long size, byte[] needle)
    {
        using var fs = File.OpenRead(file);
        fs.Position = offset;
        var buffer = new byte[4 << 20];
        var carry = 0;
        for (long left = size; left > 0;)
        {
            var n = fs.Read(buffer, carry, (int)Math.Min(buffer.Length - carry, left));
            if (n <= 0) break;
            left -= n;
            var span = buffer.AsSpan(0, carry + n);
            if (span.IndexOf(needle) >= 0) return true;
            carry = Math.Min(needle.Length - 1, span.Length);
            span[^carry..].CopyTo(buffer);
        }
        return false;
    }
}
