// A started child process whose stdout and stderr are captured as they arrive; it is killed (with its children) on dispose.
using System.Diagnostics;
using System.Text;

namespace Appliance.TestSupport;

/// <summary>
/// A running child process (from <see cref="ProcessRunner.Start"/>). Both output streams are read all the time, so the
/// child never blocks on a full pipe; what arrived so far is in <see cref="Out"/> and <see cref="Error"/>.
/// </summary>
public sealed class ChildProcess : IDisposable, IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _error = new();
    private readonly Task _completion; // exited and both streams read to the end
    private readonly TimeSpan _timeout;
    private readonly object _gate = new();
    private TaskCompletionSource _changed = NewSignal();

    internal ChildProcess(string fileName, IEnumerable<string> args, ProcessOptions options)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (options.WorkingDirectory is not null) psi.WorkingDirectory = options.WorkingDirectory;
        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        Command = string.Join(' ', psi.ArgumentList.Prepend(fileName).Select(Quote));
        _timeout = options.Timeout;
        try
        {
            _process = Process.Start(psi) ?? throw new InvalidOperationException($"{Command}: the process did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{Command}: cannot start {fileName}: {e.Message}", e);
        }
        var stdin = WriteStdinAsync(options.Stdin);
        _completion = Task.WhenAll(Pump(_process.StandardOutput, _out), Pump(_process.StandardError, _error), stdin, _process.WaitForExitAsync());
        _ = _completion.ContinueWith(_ => Signal(), TaskScheduler.Default);
    }

    /// <summary>The command line (arguments with spaces or quotes are single-quoted), for messages.</summary>
    public string Command { get; }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code (128 + N after signal N); only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What the process wrote to stdout so far.</summary>
    public string Out { get { lock (_out) return _out.ToString(); } }

    /// <summary>What the process wrote to stderr so far.</summary>
    public string Error { get { lock (_error) return _error.ToString(); } }

    /// <summary>
    /// Waits until the process has exited and its output is read to the end, and returns the result. After
    /// <paramref name="timeout"/> (default: the options' timeout) the process tree is killed and a
    /// <see cref="TimeoutException"/> names the command; <paramref name="ct"/> kills it too.
    /// </summary>
    public async Task<ProcessResult> WaitAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var limit = timeout ?? _timeout;
        try
        {
            await _completion.WaitAsync(limit, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Kill();
            throw new TimeoutException($"{Command} did not finish within {Describe(limit)}; its process tree was killed.\n"
                + $"stdout (end):\n{Tail(Out)}\nstderr (end):\n{Tail(Error)}");
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw;
        }
        return new ProcessResult(Command, _process.ExitCode, Out, Error);
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checking it now and whenever output arrives. Returns false when
    /// the process ended (and its output was read) without it, or when <paramref name="timeout"/> passed; the process
    /// keeps running either way.
    /// </summary>
    public async Task<bool> WaitUntilAsync(Func<ChildProcess, bool> condition, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var ended = _completion.IsCompleted;
            Task changed;
            lock (_gate) changed = _changed.Task;
            if (condition(this)) return true;
            var left = timeout - deadline.Elapsed;
            if (ended || left <= TimeSpan.Zero) return false;
            try { await changed.WaitAsync(left, ct).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
    }

    /// <summary>Kills the process and its children (SIGKILL) and waits up to 10 s for the exit; does nothing once it has exited.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { } // exited in between
    }

    /// <summary>Kills the process tree if it still runs.</summary>
    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task Pump(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[8192];
        int n;
        while ((n = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            lock (into) into.Append(buffer, 0, n);
            Signal();
        }
    }

    private async Task WriteStdinAsync(byte[]? input)
    {
        try
        {
            if (input is { Length: > 0 })
                await _process.StandardInput.BaseStream.WriteAsync(input).ConfigureAwait(false);
            _process.StandardInput.Close();
        }
        catch (IOException) { } // the child exited without reading all of it; its exit code tells
    }

    private void Signal()
    {
        TaskCompletionSource fired;
        lock (_gate)
        {
            fired = _changed;
            _changed = NewSignal();
        }
        fired.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string Quote(string arg) =>
        arg.Length > 0 && !arg.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '\\' or '$') ? arg : "'" + arg.Replace("'", "'\\''") + "'";

    private static string Describe(TimeSpan t) => t.TotalSeconds < 120 ? $"{t.TotalSeconds:0.#} s" : $"{t.TotalMinutes:0.#} min";

    private static string Tail(string text) => text.Length <= 4000 ? text : "…" + text[^4000..];
}
