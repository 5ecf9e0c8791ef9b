// Keeps one long-running child (the runtime, a DHCP client) alive: output to a rotated log, restart with back-off, clean stop.
using System.Diagnostics;

namespace Appliance.Firstboot.Device;

/// <summary>What to run and where its output goes.</summary>
/// <param name="Name">Short name for messages, such as <c>appliance-runtime</c>.</param>
/// <param name="Program">The executable (a full path on the device).</param>
/// <param name="Arguments">Its arguments, no shell.</param>
/// <param name="LogFile">stdout and stderr are appended here, rotated by size (<see cref="RotatingLogFile"/>).</param>
/// <param name="PidFile">
/// When set, the child's pid is kept here (best on /run). At start a process still named in it and running this
/// <paramref name="Program"/> (left by an earlier firstboot that died) is stopped first, so two never run at once.
/// </param>
public sealed record ProcessSpec(string Name, string Program, IReadOnlyList<string> Arguments, string LogFile, string? PidFile = null)
{
    /// <summary>Words put before the program (tests: <c>nsenter --net=...</c>); the last must exec it.</summary>
    public IReadOnlyList<string> Prefix { get; init; } = [];

    /// <summary>Variables set in the child's environment (inherited otherwise).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

/// <summary>One end of a supervised child: an exit, a death by signal, or a failure to start at all.</summary>
/// <param name="Time">When it was seen (UTC).</param>
/// <param name="Pid">The process id, or null when it did not start.</param>
/// <param name="ExitCode">The exit code, or null when it did not start or died by a signal.</param>
/// <param name="Signal">The signal that ended it, or null.</param>
/// <param name="Ran">How long it ran.</param>
/// <param name="Reason">One line: "exited with code 1", "killed by signal 9", "cannot start ...: ...".</param>
public sealed record ProcessExit(DateTimeOffset Time, int? Pid, int? ExitCode, int? Signal, TimeSpan Ran, string Reason);

/// <summary>Where a supervised child stands.</summary>
public enum SupervisorState
{
    /// <summary><see cref="ProcessSupervisor.Start"/> not called yet.</summary>
    NotStarted,
    /// <summary>The child runs.</summary>
    Running,
    /// <summary>The child ended; it is started again at <see cref="SupervisorStatus.NextStart"/>.</summary>
    BackingOff,
    /// <summary>Stopped on request.</summary>
    Stopped,
}

/// <summary>A snapshot for status.json.</summary>
/// <param name="State">Where it stands.</param>
/// <param name="Pid">The running child's pid.</param>
/// <param name="Starts">How many times a start was attempted.</param>
/// <param name="NextStart">When the next start is due (while backing off).</param>
/// <param name="LastExit">The last end, or null.</param>
public sealed record SupervisorStatus(SupervisorState State, int? Pid, int Starts, DateTimeOffset? NextStart, ProcessExit? LastExit);

/// <summary>
/// Runs <see cref="ProcessSpec"/> as a child and starts it again whenever it ends (or cannot be started), after a
/// back-off (<see cref="BackoffPolicy"/>: 1 s doubling to 60 s by default, back to 1 s once a run lasted
/// <see cref="BackoffPolicy.ResetAfter"/>). Every end is recorded (<see cref="Exits"/>, the last 50) and logged.
/// <see cref="StopAsync"/> sends SIGTERM to the child alone and SIGKILL after the grace period. The child's exit
/// status comes from .NET, which reports death by signal N as exit code 128 + N; a code above 128 is read as a signal.
/// </summary>
public sealed class ProcessSupervisor : IAsyncDisposable
{
    private const int KeptExits = 50;
    private readonly ProcessSpec _spec;
    private readonly Action<string> _log;
    private readonly BackoffPolicy _backoff;
    private readonly TimeSpan _stopGrace;
    private readonly RotatingLogFile _file;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly List<ProcessExit> _exits = [];
    private Task _loop = Task.CompletedTask;
    private Process? _process;
    private SupervisorState _state = SupervisorState.NotStarted;
    private int _starts;
    private DateTimeOffset? _nextStart;

    /// <summary>Prepares the supervisor; nothing runs before <see cref="Start"/>.</summary>
    /// <param name="spec">What to run.</param>
    /// <param name="log">Receives one line per start, exit and restart (firstboot's journal log).</param>
    /// <param name="backoff">Restart delays; <see cref="BackoffPolicy.Default"/> when null.</param>
    /// <param name="stopGrace">How long SIGTERM may take before SIGKILL (default 30 s).</param>
    public ProcessSupervisor(ProcessSpec spec, Action<string> log, BackoffPolicy? backoff = null, TimeSpan? stopGrace = null)
    {
        _spec = spec;
        _log = log;
        _backoff = backoff ?? BackoffPolicy.Default;
        _stopGrace = stopGrace ?? TimeSpan.FromSeconds(30);
        _file = new RotatingLogFile(spec.LogFile);
    }

    /// <summary>Raised (on a pool thread) after every start, end and stop.</summary>
    public event Action<SupervisorStatus>? Changed;

    /// <summary>The ends seen so far, oldest first (at most the last 50).</summary>
    public IReadOnlyList<ProcessExit> Exits { get { lock (_gate) return [.. _exits]; } }

    /// <summary>The current state.</summary>
    public SupervisorStatus Status
    {
        get
        {
            lock (_gate)
                return new(_state, _process is { HasExited: false } p ? p.Id : null, _starts, _nextStart, _exits.Count > 0 ? _exits[^1] : null);
        }
    }

    /// <summary>Starts the restart loop and returns at once; the loop first stops a leftover named in the pid file, then starts the child.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_state != SupervisorState.NotStarted) throw new InvalidOperationException($"{_spec.Name} was started already");
            _state = SupervisorState.BackingOff;
        }
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        StopLeftover();
        var delay = _backoff.Initial;
        while (!_stop.IsCancellationRequested)
        {
            var exit = await RunOnceAsync();
            lock (_gate)
            {
                _exits.Add(exit);
                if (_exits.Count > KeptExits) _exits.RemoveAt(0);
            }
            if (_stop.IsCancellationRequested)
            {
                Say($"{_spec.Name} {exit.Reason} after {exit.Ran.TotalSeconds:0.0} s (stopped on request)");
                break;
            }
            if (exit.Ran >= _backoff.ResetAfter) delay = _backoff.Initial;
            lock (_gate)
            {
                _state = SupervisorState.BackingOff;
                _nextStart = exit.Time + delay;
            }
            Say($"{_spec.Name} {exit.Reason} after {exit.Ran.TotalSeconds:0.0} s; starting it again in {delay.TotalSeconds:0.#} s");
            Raise();
            try { await Task.Delay(delay, _stop.Token); }
            catch (OperationCanceledException) { break; }
            delay = _backoff.Next(delay);
        }
    }

    private async Task<ProcessExit> RunOnceAsync()
    {
        var started = Stopwatch.StartNew();
        Process p;
        lock (_gate) _starts++;
        try
        {
            p = Launch();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return new ProcessExit(DateTimeOffset.UtcNow, null, null, null, TimeSpan.Zero, $"cannot start {_spec.Program}: {e.Message}");
        }
        lock (_gate)
        {
            _process = p;
            _state = SupervisorState.Running;
            _nextStart = null;
        }
        Say($"{_spec.Name} started (pid {p.Id}): {_spec.Program} {string.Join(' ', _spec.Arguments)}");
        Raise();
        var pumps = Task.WhenAll(Pump(p.StandardOutput.BaseStream), Pump(p.StandardError.BaseStream));
        var childPid = p.Id;
        using (_stop.Token.Register(() => _ = TerminateAsync(p, childPid)))
            await p.WaitForExitAsync(CancellationToken.None);
        var ran = started.Elapsed;
        // A grandchild that inherited the pipes keeps them open; its output still reaches the log, but no one waits.
        await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(2)));
        int code = p.ExitCode, pid = p.Id;
        lock (_gate) _process = null;
        if (_spec.PidFile is { } pidFile) TryDelete(pidFile);
        p.Dispose();
        return code > 128 && code <= 128 + 64
            ? new ProcessExit(DateTimeOffset.UtcNow, pid, null, code - 128, ran, $"(pid {pid}) was killed by signal {code - 128}")
            : new ProcessExit(DateTimeOffset.UtcNow, pid, code, null, ran, $"(pid {pid}) exited with code {code}");
    }

    private Process Launch()
    {
        var argv = _spec.Prefix.Concat([_spec.Program]).Concat(_spec.Arguments).ToList();
        var psi = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var (k, v) in _spec.Environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"{_spec.Program} did not start");
        p.StandardInput.Close();
        if (_spec.PidFile is { } pidFile)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pidFile))!);
            File.WriteAllText(pidFile, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
        }
        return p;
    }

    private async Task Pump(Stream from)
    {
        var buffer = new byte[16 * 1024];
        int n;
        try
        {
            while ((n = await from.ReadAsync(buffer)) > 0)
                _file.Append(buffer.AsSpan(0, n));
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
    }

    // An earlier firstboot that died (power is not the only way: a crash, a kill) leaves its child running; a second
    // one would fight it for the port and the data directory.
    private void StopLeftover()
    {
        if (_spec.PidFile is not { } pidFile || !File.Exists(pidFile)) return;
        if (!int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) || !RunsProgram(pid))
        {
            TryDelete(pidFile);
            return;
        }
        Say($"{_spec.Name} (pid {pid}) from an earlier run is still running; stopping it first");
        Libc.Signal(pid, Libc.SigTerm);
        var deadline = Stopwatch.StartNew();
        while (RunsProgram(pid) && deadline.Elapsed < _stopGrace) Thread.Sleep(100);
        if (RunsProgram(pid)) Libc.Signal(pid, Libc.SigKill);
        while (RunsProgram(pid) && deadline.Elapsed < _stopGrace + TimeSpan.FromSeconds(5)) Thread.Sleep(50);
        TryDelete(pidFile);
    }

    private bool RunsProgram(int pid)
    {
        try
        {
            var status = File.ReadAllText($"/proc/{pid}/stat");
            if (status.LastIndexOf(')') is var i and > 0 && status.Length > i + 2 && status[i + 2] == 'Z') return false;
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(_spec.Program);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>
    /// Stops restarting and ends the child: SIGTERM to it alone, SIGKILL after the grace period. Returns once it has
    /// exited (its exit is recorded).
    /// </summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await _loop;
        lock (_gate)
        {
            _state = SupervisorState.Stopped;
            _nextStart = null;
        }
        Raise();
    }

    private async Task TerminateAsync(Process p, int pid)
    {
        try
        {
            Say($"{_spec.Name} (pid {pid}): stopping (SIGTERM, SIGKILL after {_stopGrace.TotalSeconds:0} s)");
            if (!Libc.Signal(pid, Libc.SigTerm)) return;
            try { await p.WaitForExitAsync().WaitAsync(_stopGrace); }
            catch (TimeoutException)
            {
                Say($"{_spec.Name} (pid {pid}) did not stop within {_stopGrace.TotalSeconds:0} s; sending SIGKILL");
                Libc.Signal(pid, Libc.SigKill);
            }
        }
        catch (InvalidOperationException) { } // it exited and was disposed in between
    }

    private void Say(string line)
    {
        _log(line);
        _file.AppendLine("[supervisor] " + line);
    }

    private void Raise() => Changed?.Invoke(Status);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Stops the child (as <see cref="StopAsync"/>) and closes the log.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Status.State != SupervisorState.NotStarted) await StopAsync();
        _file.Dispose();
        _stop.Dispose();
    }
}
