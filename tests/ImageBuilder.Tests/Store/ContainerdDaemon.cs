// A private containerd (own root, state and socket) started for a test and torn down afterwards, mounts included.
using System.Diagnostics;

namespace Appliance.ImageBuilder.Tests.Store;

/// <summary>containerd as a child process on a private socket; CRI and unneeded snapshotters are off.</summary>
public sealed class ContainerdDaemon : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private ContainerdDaemon(Process process, string dir)
    {
        _process = process;
        _dir = dir;
    }

    /// <summary>The gRPC socket.</summary>
    public string Socket => Path.Combine(_dir, "c.sock");

    /// <summary>Why containerd cannot run here, or null when it can.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root" && Environment.GetEnvironmentVariable("USER") != "root")
            return "containerd needs root";
        foreach (var tool in new[] { "containerd", "ctr", "runc" })
            if (Which(tool) is null)
                return $"{tool} is not installed (apt-get install containerd runc)";
        return null;
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/usr/sbin").Split(':')
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>Starts containerd and waits for its socket to answer.</summary>
    public static ContainerdDaemon Start()
    {
        var dir = Path.Combine("/tmp", "apctrd-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "config.toml");
        File.WriteAllText(config, $"""
            version = 2
            root = "{dir}/root"
            state = "{dir}/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
            [grpc]
              address = "{dir}/c.sock"
            [ttrpc]
              address = "{dir}/c.sock.ttrpc"
            [debug]
              address = ""
            [metrics]
              address = ""
            """);
        var psi = new ProcessStartInfo("containerd", ["--config", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var d = new ContainerdDaemon(p, dir);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (p.HasExited)
            {
                d.Dispose();
                throw new InvalidOperationException($"containerd exited with {p.ExitCode} at start");
            }
            if (File.Exists(d.Socket) && d.Ctr("version").Code == 0)
                return d;
            if (DateTime.UtcNow > deadline)
            {
                d.Dispose();
                throw new TimeoutException("containerd did not answer on its socket within 30 s");
            }
            Thread.Sleep(100);
        }
    }

    /// <summary>Runs ctr against this daemon in the k8s.io namespace.</summary>
    public (int Code, string Out, string Err) Ctr(params string[] args)
    {
        var psi = new ProcessStartInfo("ctr", ["-a", Socket, "-n", "k8s.io", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            return (-1, output, "ctr timed out");
        }
        return (p.ExitCode, output, err.Result);
    }

    /// <summary>Stops containerd, unmounts everything under its root, and deletes its directory.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        var mounts = File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')[1])
            .Where(m => m.StartsWith(_dir + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length).ToList();
        foreach (var m in mounts)
        {
            using var u = Process.Start(new ProcessStartInfo("umount", ["-l", m]) { RedirectStandardError = true })!;
            u.WaitForExit();
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
