// Starts the real appliance-runtime server process on a free port with a temp data dir, for black-box tests.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>One <c>appliance-runtime server</c> child process.</summary>
public sealed class RuntimeProcess : IAsyncDisposable
{
    readonly ChildProcess _process;

    RuntimeProcess(ChildProcess process, string dataDir, int port)
    {
        _process = process;
        DataDir = dataDir;
        Port = port;
    }

    /// <summary>The data directory.</summary>
    public string DataDir { get; }

    /// <summary>The HTTPS port.</summary>
    public int Port { get; }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>DIR/kubeconfig.yaml.</summary>
    public string KubeconfigPath => Path.Combine(DataDir, "kubeconfig.yaml");

    /// <summary>Everything the process printed so far: stdout, then stderr.</summary>
    public string Log => _process.Out + _process.Error;

    /// <summary>The dotnet host running the tests (<see cref="RuntimeProgram.Dotnet"/>).</summary>
    public static string Dotnet => RuntimeProgram.Dotnet;

    /// <summary>The published program under test, or null (<see cref="RuntimeProgram.Published"/>).</summary>
    public static string? Published => RuntimeProgram.Published;

    /// <summary>The program to start for appliance-runtime (<see cref="RuntimeProgram.Program"/>).</summary>
    public static string Program => RuntimeProgram.Program;

    /// <summary>The arguments that run <paramref name="args"/> with <see cref="Program"/> (<see cref="RuntimeProgram.Arguments"/>).</summary>
    public static string[] Arguments(params string[] args) => RuntimeProgram.Arguments(args);

    /// <summary>The whole command line, for a launcher such as nsenter (<see cref="RuntimeProgram.CommandLine"/>).</summary>
    public static string[] CommandLine(params string[] args) => RuntimeProgram.CommandLine(args);

    /// <summary>A TCP port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Starts the server and waits until /readyz answers ok.</summary>
    public static async Task<RuntimeProcess> StartAsync(string dataDir, int port, params string[] extra)
    {
        var args = Arguments(["server", "--data-dir", dataDir, "--https-listen-port", port.ToString(), "--bind-address", "127.0.0.1", "--disable-agent", .. extra]);
        var p = new RuntimeProcess(ProcessRunner.Start(Program, args), dataDir, port);
        try
        {
            await p.WaitReadyAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
        return p;
    }

    /// <summary>Polls /readyz until it says ok.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"appliance-runtime exited with {_process.ExitCode}:\n{Log}");
            try
            {
                var r = await http.GetAsync($"https://127.0.0.1:{Port}/readyz");
                if (r.IsSuccessStatusCode && File.Exists(KubeconfigPath)) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"appliance-runtime not ready after {timeout}:\n{Log}");
    }

    /// <summary>
    /// An HttpClient that trusts the server CA; with <paramref name="admin"/> it presents the admin client certificate,
    /// or <paramref name="certificate"/> when one is given.
    /// </summary>
    public HttpClient CreateClient(bool admin = true, X509Certificate2? certificate = null)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(DataDir, "tls", "server-ca.crt")));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(cert)) && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
        };
        if (certificate is not null) handler.SslOptions.ClientCertificates = [certificate];
        else if (admin)
        {
            var tls = Path.Combine(DataDir, "tls");
            var cert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(tls, "client-admin.crt")), File.ReadAllText(Path.Combine(tls, "client-admin.key")));
            handler.SslOptions.ClientCertificates = [cert];
        }
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Sends SIGKILL and waits for the exit.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Sends SIGTERM and waits up to <paramref name="timeout"/>; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString()]);
            if (!await _process.WaitUntilAsync(p => p.HasExited, timeout)) Kill();
        }
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
