// Deletes registered temporary files and directories when the process is stopped by SIGINT, SIGTERM or SIGHUP.
using System.Runtime.InteropServices;

namespace Appliance.ImageBuilder.IO;

/// <summary>
/// A process-wide list of paths that must not outlive an interrupted command: temporary files not yet renamed into
/// place, work directories, and outputs of a build that has not finished. Ctrl-C, SIGTERM and SIGHUP print one line,
/// delete them (newest first), and end the process with exit 128 + the signal number (130 for Ctrl-C).
/// <list type="bullet">
/// <item>A path is registered for as long as the returned token is not disposed.</item>
/// <item>Once a signal has come, the command's thread is parked at its next registration, commit or exit, so it
/// neither creates files the cleanup would miss nor ends the process before the cleanup is done.</item>
/// <item>A second signal during the cleanup is absorbed. Signals the process was started ignoring stay ignored.</item>
/// <item>Without <see cref="Install"/> (library use, tests) registering does nothing else.</item>
/// </list>
/// Writers do not register themselves: the entry point connects <see cref="Tracker"/> to the shared
/// <see cref="AtomicFile"/>, and commands register their own work directories.
/// </summary>
public static class InterruptCleanup
{
    private static readonly object Gate = new();
    private static readonly SortedDictionary<long, string> Paths = new();
    private static long _next;
    private static PosixSignalRegistration[]? _handlers;
    private static int _signal;
    private static bool _closed;

    /// <summary>The signal that is ending the process, or 0.</summary>
    public static int Signal => Volatile.Read(ref _signal);

    /// <summary>Starts handling the signals; the CLI's entry point calls this once.</summary>
    public static void Install()
    {
        lock (Gate)
        {
            if (_handlers != null || !OperatingSystem.IsLinux()) return;
            // A signal this process was started ignoring (a background job's SIGINT, SIGHUP under nohup) stays ignored:
            // it does not end the process, so nothing may be deleted when it comes.
            long ignored = IgnoredSignals();
            _handlers = [.. new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15), (PosixSignal.SIGHUP, 1) }
                .Where(s => (ignored & (1L << (s.Item2 - 1))) == 0)
                .Select(s => PosixSignalRegistration.Create(s.Item1, OnSignal))];
        }
    }

    /// <summary>
    /// Deletes <paramref name="path"/> (a file, or a directory with everything in it) if a signal stops the process
    /// before the token is disposed. Register before creating the path.
    /// </summary>
    public static IDisposable Register(string path) => Locked(() => Add([path]));

    /// <summary>
    /// Runs <paramref name="rename"/> (which moves a registered temporary file to <paramref name="to"/>) and, in the same
    /// step as far as a signal can tell, swaps <paramref name="fromToken"/>'s registration for one of
    /// <paramref name="to"/> and <paramref name="alsoUnfinished"/>: outputs that stay unfinished until the returned
    /// token is disposed.
    /// </summary>
    public static IDisposable Commit(string to, IDisposable fromToken, IEnumerable<string> alsoUnfinished, Action rename) =>
        Locked(() =>
        {
            rename();
            fromToken.Dispose();
            return Add([to, .. alsoUnfinished]);
        });

    /// <summary>The cleanup as <see cref="AtomicFile.Tracker"/>: every temporary file of the shared writer is registered.</summary>
    public static ITemporaryFileTracker Tracker { get; } = new AtomicFileTracker();

    /// <summary>The command is done: a later signal ends the process without cleaning up (parks here if one came first).</summary>
    public static void Close() => Locked(() => { _closed = true; return 0; });

    /// <summary>Parks the calling thread for good if a signal is ending the process (the handler ends it).</summary>
    public static void ParkIfStopping()
    {
        if (Signal != 0) Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>Runs <paramref name="action"/> under the lock unless a signal has come; then parks instead.</summary>
    private static T Locked<T>(Func<T> action)
    {
        lock (Gate)
        {
            if (Signal == 0) return action();
        }
        Thread.Sleep(Timeout.Infinite);
        throw new InvalidOperationException("unreachable");
    }

    private static Token Add(string[] paths)
    {
        var ids = new long[paths.Length];
        for (int i = 0; i < paths.Length; i++)
        {
            ids[i] = ++_next;
            Paths[ids[i]] = paths[i];
        }
        return new Token(ids);
    }

    /// <summary>The SigIgn mask of /proc/self/status (bit n-1 for signal n); 0 if it cannot be read.</summary>
    private static long IgnoredSignals()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                    return Convert.ToInt64(line["SigIgn:".Length..].Trim(), 16);
        }
        catch (IOException) { }
        catch (FormatException) { }
        return 0;
    }

    private static void OnSignal(PosixSignalContext context)
    {
        int number = context.Signal switch { PosixSignal.SIGINT => 2, PosixSignal.SIGTERM => 15, _ => 1 };
        lock (Gate)
        {
            if (_closed) return; // the command finished: the signal's default action ends the process
            if (_signal != 0) { context.Cancel = true; return; } // a second signal while cleaning up
            Volatile.Write(ref _signal, number);
        }
        context.Cancel = true;
        try
        {
            Console.Error.WriteLine($"appliance: stopped by {context.Signal}; removing temporary files and unfinished outputs");
        }
        catch (Exception) { } // stderr may be gone (a hung-up terminal); the cleanup matters more
        // Registration is closed now (callers park), so this empties the list for good.
        while (true)
        {
            string[] paths;
            lock (Gate)
            {
                paths = [.. Paths.Values.Reverse()];
                Paths.Clear();
            }
            if (paths.Length == 0) break;
            foreach (var p in paths) Delete(p);
        }
        Environment.Exit(128 + number);
    }

    /// <summary>Deletes a file, or a directory after renaming it aside so the command can no longer add to it.</summary>
    private static void Delete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                string aside = path + ".deleting-" + Guid.NewGuid().ToString("N")[..8];
                try { Directory.Move(path, aside); path = aside; } catch (IOException) { }
                for (int attempt = 0; attempt < 5; attempt++)
                {
                    try { Directory.Delete(path, recursive: true); return; }
                    catch (IOException) { Thread.Sleep(10); }
                }
            }
            else
                File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private sealed class AtomicFileTracker : ITemporaryFileTracker
    {
        public IDisposable Track(string tempPath) => Register(tempPath);

        public IDisposable Commit(string tempPath, string path, IDisposable tempToken, IEnumerable<string> alsoUnfinished, Action rename) =>
            InterruptCleanup.Commit(path, tempToken, alsoUnfinished, rename);
    }

    private sealed class Token(long[] ids) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate)
                foreach (var id in ids) Paths.Remove(id);
        }
    }
}
