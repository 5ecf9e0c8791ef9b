// Runs containerd as a child (or attaches to a running one), reports readiness, restarts it with back-off if it dies.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Appliance.ClusterRuntime.Agent.Cri;

namespace Appliance.ClusterRuntime.Agent.Containerd;

/// <summary>
/// containerd for the agent. <see cref="Start"/> writes the config and runs /usr/bin/containerd as a child; if it
/// exits it is started again after a back-off (1 s doubling to 30 s, reset once it has run a minute).
/// <see cref="Attach"/> uses a containerd someone else runs (<c>--container-runtime-endpoint</c>).
/// Disposing sends containerd SIGTERM only: the shims run in their own process groups (containerd starts them with
/// Setpgid and they re-parent away), so running containers outlive the agent.
/// </summary>
internal sealed class ContainerdSupervisor : IAsyncDisposable
{
    /// <summary>Where containerd is installed (Debian's containerd package).</summary>
    public const string DefaultBinary = "/usr/bin/containerd";

    static readonly TimeSpan FirstBackOff = TimeSpan.FromSeconds(1), MaxBackOff = TimeSpan.FromSeconds(30);
    static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(1), StopGrace = TimeSpan.FromSeconds(10);

    readonly ContainerdConfig? _config;
    readonly IReadOnlyList<string> _prefix;
    readonly string _binary;
    readonly CancellationTokenSource _stop = new();
    readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Task _loop;
    readonly object _gate = new();
    Process? _process;
    int _restarts;

    /// <summary>The CRI client for this containerd.</summary>
    public CriConnection Cri { get; }

    /// <summary>The socket containerd serves (CRI and its own API, e.g. for <c>ctr -a</c>).</summary>
    public string SocketPath => Cri.SocketPath;

    /// <summary>Completes the first time the socket is up and CRI Version answers; faults if containerd cannot
    /// be started at all (missing binary) or the supervisor is disposed first.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The pid of the containerd child now running, or null (attached, or between restarts).</summary>
    public int? ProcessId { get { lock (_gate) return _process is { HasExited: false } p ? p.Id : null; } }

    /// <summary>How many times containerd was started again after it died.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    /// <summary>Called with one line for each start, exit and restart (for the agent's log).</summary>
    public Action<string>? Log { get; init; }

    ContainerdSupervisor(ContainerdConfig? config, string socket, string binary, IReadOnlyList<string> prefix)
    {
        _config = config;
        _binary = binary;
        _prefix = prefix;
        Cri = new CriConnection(socket);
        _loop = config is null ? WaitReachableAsync() : RunAsync();
    }

    /// <summary>Empties containerd's state if an earlier boot left it (<see cref="ContainerdConfig.ForgetEarlierBoot"/>),
    /// writes <paramref name="config"/> and starts containerd. <paramref name="commandPrefix"/> runs it
    /// through another command, e.g. <c>ip netns exec NS</c> (it must exec containerd, so signals reach it).</summary>
    public static ContainerdSupervisor Start(ContainerdConfig config, IReadOnlyList<string>? commandPrefix = null,
        string binary = DefaultBinary, Action<string>? log = null)
    {
        if (config.ForgetEarlierBoot() is > 0 and var removed)
            log?.Invoke($"{config.StateDir} was left by an earlier boot: {removed} entries removed (dead shims' bundles, old sandbox state)");
        config.Write();
        return new ContainerdSupervisor(config, config.SocketPath, binary, commandPrefix ?? []) { Log = log };
    }

    /// <summary>Uses an existing containerd at <paramref name="endpoint"/> (unix:///path or /path); Ready completes
    /// once it answers CRI Version.</summary>
    public static ContainerdSupervisor Attach(string endpoint, Action<string>? log = null) =>
        new(null, CriConnection.ParseEndpoint(endpoint), "", []) { Log = log };

    /// <summary>Waits until CRI Version answers now (after a restart too), or throws at <paramref name="timeout"/>
    /// (<see cref="Timeout.InfiniteTimeSpan"/>: never)
    /// with the last error, which names the socket.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var once = CancellationTokenSource.CreateLinkedTokenSource(ct);
                once.CancelAfter(TimeSpan.FromSeconds(5));
                await Cri.VersionAsync(once.Token);
                return;
            }
            catch (Exception e) when (e is CriUnavailableException or Grpc.Core.RpcException && !ct.IsCancellationRequested)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"containerd at {SocketPath} not ready after {timeout.TotalSeconds:0} s: {e.Message}", e);
            }
            await Task.Delay(100, ct);
        }
    }

    async Task WaitReachableAsync()
    {
        try
        {
            await WaitReadyAsync(Timeout.InfiniteTimeSpan, _stop.Token);
            _ready.TrySetResult();
        }
        catch (OperationCanceledException)
        {
            _ready.TrySetCanceled();
        }
    }

    async Task RunAsync()
    {
        var backOff = FirstBackOff;
        while (!_stop.IsCancellationRequested)
        {
            Process process;
            StreamWriter logWriter;
            try
            {
                (process, logWriter) = Launch();
            }
            catch (Exception e)
            {
                _ready.TrySetException(new InvalidOperationException($"cannot start {_binary}: {e.Message}", e));
                return;
            }
            var started = DateTime.UtcNow;
            _ = MarkReadyAsync(process);
            await process.WaitForExitAsync(CancellationToken.None);
            lock (_gate) _process = null;
            var exitCode = process.ExitCode;
            // WaitForExitAsync returned after both pipes reached end of file: no line can arrive after this.
            lock (logWriter) logWriter.Dispose();
            if (_stop.IsCancellationRequested) return;
            Log?.Invoke($"containerd (pid {process.Id}) exited with code {exitCode}; restarting in {backOff.TotalSeconds:0} s (log: {_config!.LogPath})");
            if (DateTime.UtcNow - started > StableAfter) backOff = FirstBackOff;
            try { await Task.Delay(backOff, _stop.Token); } catch (OperationCanceledException) { return; }
            backOff = TimeSpan.FromTicks(Math.Min(backOff.Ticks * 2, MaxBackOff.Ticks));
            Interlocked.Increment(ref _restarts);
        }
    }

    async Task MarkReadyAsync(Process process)
    {
        while (!process.HasExited && !_stop.IsCancellationRequested)
        {
            try
            {
                using var once = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var v = await Cri.VersionAsync(once.Token);
                Log?.Invoke($"containerd (pid {process.Id}) ready: {v.RuntimeName} {v.RuntimeVersion} on {SocketPath}");
                _ready.TrySetResult();
                return;
            }
            catch (Exception e) when (e is CriUnavailableException or Grpc.Core.RpcException or OperationCanceledException)
            {
                await Task.Delay(100);
            }
        }
    }

    (Process, StreamWriter) Launch()
    {
        var c = _config!;
        // A socket left by a killed containerd would make the new one fail to listen.
        if (File.Exists(c.SocketPath)) File.Delete(c.SocketPath);
        var file = _prefix.Count > 0 ? _prefix[0] : _binary;
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in _prefix.Skip(1)) psi.ArgumentList.Add(a);
        if (_prefix.Count > 0) psi.ArgumentList.Add(_binary);
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(c.ConfigPath);
        var log = new StreamWriter(new FileStream(c.LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (log) log.WriteLine(line); };
        p.OutputDataReceived += (_, e) => { if (e.Data is { } line) lock (log) log.WriteLine(line); };
        p.Start();
        p.StandardInput.Close();
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        lock (_gate) _process = p;
        Log?.Invoke($"containerd started (pid {p.Id}) with {c.ConfigPath}");
        return (p, log);
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    static extern int SendSignal(int pid, int signal);

    const int SigTerm = 15;

    /// <summary>Stops containerd with SIGTERM (SIGKILL to it alone after 10 s); shims and containers keep running.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _ready.TrySetCanceled();
        Process? p;
        lock (_gate) p = _process;
        if (p is { HasExited: false })
        {
            SendSignal(p.Id, SigTerm);
            try
            {
                await p.WaitForExitAsync().WaitAsync(StopGrace);
            }
            catch (TimeoutException)
            {
                p.Kill(entireProcessTree: false);
                await p.WaitForExitAsync();
            }
        }
        try { await _loop; } catch (OperationCanceledException) { }
        Cri.Dispose();
        _stop.Dispose();
    }
}
