// A private containerd (own root, state and socket) started for a test and torn down afterwards, mounts included.

namespace Appliance.ImageBuilder.Tests.Store;

/// <summary>containerd as a child process on a private socket; CRI and unneeded snapshotters are off.</summary>
public sealed class ContainerdDaemon : IDisposable
{
    private readonly ChildProcess _process;
    private readonly TempDir _dir;

    private ContainerdDaemon(ChildProcess process, TempDir dir)
    {
        _process = process;
        _dir = dir;
    }

    /// <summary>The gRPC socket.</summary>
    public string Socket => _dir["c.sock"];

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
        // A short path: the socket's must fit in sun_path (108 bytes).
        var tmp = new TempDir("apctrd-");
        var dir = tmp.Path;
        var config = tmp["config.toml"];
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
        var d = new ContainerdDaemon(ProcessRunner.Start("containerd", ["--config", config]), tmp);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (d._process.HasExited)
                    throw new InvalidOperationException($"containerd exited with {d._process.ExitCode} at start:\n{d._process.Error}");
                if (File.Exists(d.Socket) && d.Ctr("version").ExitCode == 0)
                    return d;
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("containerd did not answer on its socket within 30 s");
                Thread.Sleep(100);
            }
        }
        catch
        {
            d.Dispose();
            throw;
        }
    }

    /// <summary>Runs ctr against this daemon in the k8s.io namespace.</summary>
    public ProcessResult Ctr(params string[] args) =>
        ProcessRunner.Run("ctr", ["-a", Socket, "-n", "k8s.io", .. args], new ProcessOptions { Timeout = TimeSpan.FromMinutes(2) });

    /// <summary>Stops containerd, unmounts everything under its root, and deletes its directory.</summary>
    public void Dispose()
    {
        _process.Dispose();
        var mounts = File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')[1])
            .Where(m => m.StartsWith(_dir.Path + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length).ToList();
        foreach (var m in mounts)
            ProcessRunner.Run("umount", ["-l", m]);
        _dir.Dispose();
    }
}
