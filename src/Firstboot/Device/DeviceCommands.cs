// How the device steps run system tools: busybox applets, optionally through a prefix such as nsenter (tests).
using System.Diagnostics;
using System.Text;

namespace Appliance.Firstboot.Device;

/// <summary>The outcome of one command run to completion.</summary>
/// <param name="Command">The command line, for messages.</param>
/// <param name="ExitCode">The exit code (128 + N after signal N).</param>
/// <param name="Output">stdout and stderr together, trimmed.</param>
public sealed record CommandResult(string Command, int ExitCode, string Output)
{
    /// <summary>True when the exit code is 0.</summary>
    public bool Ok => ExitCode == 0;

    /// <summary>"`CMD` exited N: OUTPUT", for a failure record.</summary>
    public string Describe() => $"`{Command}` exited {ExitCode}" + (Output.Length > 0 ? ": " + Output : "");
}

/// <summary>
/// Runs the system tools the device steps use. On the device the prefix is empty and <see cref="Busybox"/> is
/// <c>/usr/bin/busybox</c> (root-a has busybox-static and no iproute2); tests give a prefix such as
/// <c>nsenter --net=/run/netns/NS --uts=/proc/PID/ns/uts</c>, so nothing touches the host's own network or name.
/// </summary>
/// <param name="Prefix">Words put before every command; the last one must exec the command.</param>
/// <param name="Busybox">The busybox binary whose applets (ip, udhcpc, hostname) are run.</param>
public sealed record DeviceCommands(IReadOnlyList<string> Prefix, string Busybox = "/usr/bin/busybox")
{
    /// <summary>The device's own: no prefix, /usr/bin/busybox.</summary>
    public static readonly DeviceCommands Device = new([]);

    /// <summary>How long one tool may run before it is killed and counted as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The full argument vector of busybox applet <paramref name="applet"/> with <paramref name="args"/>.</summary>
    public IReadOnlyList<string> Applet(string applet, params IEnumerable<string> args) => [.. Prefix, Busybox, applet, .. args];

    /// <summary>Runs busybox <paramref name="applet"/> to completion.</summary>
    public Task<CommandResult> RunAppletAsync(string applet, IEnumerable<string> args, CancellationToken ct) =>
        RunAsync(Applet(applet, args), ct);

    /// <summary>Runs <paramref name="argv"/> (no shell) to completion; a missing program is exit code 127.</summary>
    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, CancellationToken ct)
    {
        var command = string.Join(' ', argv);
        var psi = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new CommandResult(command, 127, $"cannot start {argv[0]}: {e.Message}");
        }
        using (p)
        {
            p.StandardInput.Close();
            var output = new StringBuilder();
            var stdout = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = p.StandardError.ReadToEndAsync(CancellationToken.None);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(Timeout);
            try
            {
                await p.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync(CancellationToken.None);
                ct.ThrowIfCancellationRequested();
                return new CommandResult(command, 124, $"did not finish within {Timeout.TotalSeconds:0} s");
            }
            output.Append(await stdout).Append(await stderr);
            return new CommandResult(command, p.ExitCode, output.ToString().Trim());
        }
    }
}
