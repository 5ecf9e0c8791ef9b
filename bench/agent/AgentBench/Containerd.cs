// A throw-away containerd 1.6 for one measured import, started by the agent's own ContainerdSupervisor in a fresh temp dir.
using System.Diagnostics;
using Appliance.ClusterRuntime.Agent.Containerd;

namespace Appliance.Bench.Agent;

sealed class Containerd : IDisposable
{
    readonly ContainerdSupervisor _supervisor;
    public string Dir { get; }
    public string Socket => _supervisor.SocketPath;

    Containerd(string dir, ContainerdSupervisor supervisor)
    {
        Dir = dir;
        _supervisor = supervisor;
    }

    public static Containerd Start()
    {
        var dir = Directory.CreateTempSubdirectory("agb-").FullName;
        var supervisor = ContainerdSupervisor.Start(new ContainerdConfig(Path.Combine(dir, "c"), Path.Combine(dir, "cni")));
        supervisor.Ready.WaitAsync(TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
        return new Containerd(dir, supervisor);
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
        _supervisor.DisposeAsync().AsTask().GetAwaiter().GetResult();
        // No container ever ran, so nothing is mounted under the root: the directory can simply go.
        Directory.Delete(Dir, recursive: true);
    }
}
