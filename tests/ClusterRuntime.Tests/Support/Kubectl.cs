// Runs /usr/bin/kubectl against a server's generated kubeconfig, with a private discovery cache.
using System.Diagnostics;

namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>A kubectl invocation's result.</summary>
public sealed record KubectlResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Throws with the output when the exit code is not 0.</summary>
    public KubectlResult Ok()
    {
        if (ExitCode != 0) throw new Xunit.Sdk.XunitException($"kubectl exited {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        return this;
    }
}

/// <summary>Runs kubectl.</summary>
public sealed class Kubectl(string kubeconfig, string cacheDir)
{
    /// <summary>The kubectl the tests use.</summary>
    public const string Path = "/usr/bin/kubectl";

    /// <summary>Skips the calling test when kubectl is not installed.</summary>
    public static void RequireInstalled()
    {
        if (!File.Exists(Path)) Assert.Skip("kubectl is not installed at /usr/bin/kubectl (machine image provides it)");
    }

    /// <summary>Runs kubectl with <paramref name="args"/> and waits (30 s at most).</summary>
    public async Task<KubectlResult> RunAsync(params string[] args)
    {
        using var p = Start(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(true);
            throw new TimeoutException($"kubectl {string.Join(' ', args)} did not finish in 30 s");
        }
        return new KubectlResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts kubectl without waiting (for watches); the caller disposes the process.</summary>
    public Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(kubeconfig);
        psi.ArgumentList.Add("--cache-dir");
        psi.ArgumentList.Add(cacheDir);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = cacheDir;
        return Process.Start(psi)!;
    }
}
