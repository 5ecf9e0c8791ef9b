// Runs /usr/bin/kubectl against a server's generated kubeconfig, with a private discovery cache.
namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>Runs kubectl; inside network namespace <paramref name="netns"/> (through nsenter) when one is given.</summary>
public sealed class Kubectl(string kubeconfig, string cacheDir, string? netns = null)
{
    /// <summary>The kubectl the tests use.</summary>
    public const string Path = "/usr/bin/kubectl";

    /// <summary>Skips the calling test when kubectl is not installed.</summary>
    public static void RequireInstalled()
    {
        if (!File.Exists(Path)) Assert.Skip("kubectl is not installed at /usr/bin/kubectl (machine image provides it)");
    }

    /// <summary>Runs kubectl with <paramref name="args"/> and waits (30 s at most); <see cref="ProcessResult.Ok"/> requires success.</summary>
    public Task<ProcessResult> RunAsync(params string[] args) =>
        ProcessRunner.RunAsync(Executable, Args(args), Options(TimeSpan.FromSeconds(30)));

    /// <summary>Runs kubectl with <paramref name="stdin"/> as its input (then closed), waiting 30 s at most.</summary>
    public Task<ProcessResult> RunAsync(byte[] stdin, params string[] args) =>
        ProcessRunner.RunAsync(Executable, Args(args), Options(TimeSpan.FromSeconds(30)) with { Stdin = stdin });

    /// <summary>Starts kubectl without waiting (for watches); disposing the result kills it.</summary>
    public ChildProcess Start(params string[] args) => ProcessRunner.Start(Executable, Args(args), Options(TimeSpan.FromSeconds(30)));

    private string Executable => netns is null ? Path : "/usr/bin/nsenter";

    private string[] Args(string[] args) => netns is null
        ? ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, .. args]
        : [$"--net=/run/netns/{netns}", Path, "--kubeconfig", kubeconfig, "--cache-dir", cacheDir, .. args];

    private ProcessOptions Options(TimeSpan timeout) =>
        new() { Environment = new Dictionary<string, string?> { ["HOME"] = cacheDir }, Timeout = timeout };
}
