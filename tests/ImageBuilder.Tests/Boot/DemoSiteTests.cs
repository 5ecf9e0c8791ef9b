// The README's two demo commands, end to end: build the demo image, boot it in qemu offline, reach the node with kubectl.
using System.Diagnostics;
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
        var outDir = Path.Combine(tmp.Path, "out");
        var port = BootTestSupport.FreePort();
        var env = new Dictionary<string, string?>
        {
            ["OUT"] = outDir, ["APPLIANCE_STORE"] = Path.Combine(tmp.Path, "store"), ["PORT"] = port.ToString(), ["TIMEOUT"] = "1500",
        };
        var script = (string name) => Path.Combine(BootTestSupport.RepoRoot, "scripts", name);
        var sw = Stopwatch.StartNew();
        Run("bash", [script("build-demo.sh")], env, TimeSpan.FromMinutes(20));
        output.WriteLine($"build-demo.sh: {sw.Elapsed.TotalSeconds:F0} s");
        var demo = Path.Combine(outDir, "demo");
        var kubeconfig = Path.Combine(demo, "demo-x86.kubeconfig");
        var imageSize = new FileInfo(Path.Combine(demo, "demo-x86.img")).Length;
        output.WriteLine($"image file: {imageSize} bytes");
        try
        {
            sw.Restart();
            var first = Run("bash", [script("run-demo.sh")], env, TimeSpan.FromMinutes(30));
            output.WriteLine($"first boot to node Ready and demo Available: {sw.Elapsed.TotalSeconds:F0} s\n{first.Out}{first.Error}");
            Assert.Contains("demo-x86", first.Out);
            Assert.Matches(@"hello-\S+\s+1/1\s+Running", first.Out);
            var logs = Kubectl(kubeconfig, port, "logs", "deployment/hello");
            Assert.Contains("hello: serving on :8080", logs);
            Kubectl(kubeconfig, port, "create", "configmap", "kept-across-boots", "--from-literal=k=v");

            Run("bash", [script("run-demo.sh"), "--stop"], env, TimeSpan.FromMinutes(3));
            sw.Restart();
            var second = Run("bash", [script("run-demo.sh"), "--again"], env, TimeSpan.FromMinutes(30));
            output.WriteLine($"second boot to node Ready and demo Available: {sw.Elapsed.TotalSeconds:F0} s");
            Assert.Contains("k=v", Kubectl(kubeconfig, port, "get", "configmap", "kept-across-boots", "-o", "jsonpath=k={.data.k}"));
            Run("bash", [script("run-demo.sh"), "--stop"], env, TimeSpan.FromMinutes(3));
        }
        finally
        {
            BootTestSupport.StopVm(Path.Combine(demo, "run", "qemu.pid"));
        }

        var disk = Path.Combine(demo, "run", "disk.img");
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
