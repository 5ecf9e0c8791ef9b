// A throw-away containerd 1.6 for one measured import: fresh root, state and socket in a temp dir of its own.
using System.Diagnostics;

namespace Appliance.Bench.Agent;

sealed class Containerd : IDisposable
{
    readonly Process _process;
    public string Dir { get; }
    public string Socket => Path.Combine(Dir, "c.sock");

    Containerd(string dir, Process process)
    {
        Dir = dir;
        _process = process;
    }

    public static Containerd Start()
    {
        var dir = Directory.CreateTempSubdirectory("agb-").FullName;
        File.WriteAllText(Path.Combine(dir, "config.toml"), $"""
            version = 2
            root = "{dir}/root"
            state = "{dir}/state"
            [grpc]
              address = "{dir}/c.sock"
            """);
        var psi = new ProcessStartInfo("/usr/bin/containerd", ["--config", Path.Combine(dir, "config.toml")])
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        var c = new Containerd(dir, p);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Run("ctr", ["-a", c.Socket, "version"]).Code != 0)
        {
            if (DateTime.UtcNow > until || p.HasExited)
                throw new InvalidOperationException("containerd did not start in 30 s");
            Thread.Sleep(100);
        }
        return c;
    }

    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    public void Dispose()
    {
        _process.Kill();
        _process.WaitForExit();
        // Unmount nothing: these imports never unpack into a snapshotter except ctr's default run, whose overlay
        // snapshots are plain directories until a container mounts them.
        Directory.Delete(Dir, recursive: true);
    }
}
