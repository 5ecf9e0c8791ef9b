// Deletes registered temporary files and directories when the process is stopped by SIGINT, SIGTERM or SIGHUP.
using System.Runtime.InteropServices;

namespace Appliance.ImageBuilder.IO;

/// <summary>
/// A process-wide list of paths that must not outlive an interrupted command: temporary files not yet renamed into
/// place, work directories, and outputs of a build that has not finished. Ctrl-C, SIGTERM and SIGHUP delete them
/// (newest first), print one line, and end the process with exit 128 + the signal number (130 for Ctrl-C). A path is
/// registered for as long as the returned token is not disposed; without <see cref="Install"/> (library use, tests)
/// registering does nothing else.
/// </summary>
public static class InterruptCleanup
{
    private static readonly object Gate = new();
    private static readonly SortedDictionary<long, string> Paths = new();
    private static long _next;
    private static PosixSignalRegistration[]? _handlers;
    private static int _signal;

    /// <summary>The signal that is ending the process, or 0. The command's own error report stays quiet once set:
    /// its failure is the interrupt's doing (a file deleted under it).</summary>
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

    /// <summary>Deletes <paramref name="path"/> (a file, or a directory with everything in it) if a signal stops the process before the token is disposed.</summary>
    public static IDisposable Register(string path)
    {
        lock (Gate)
        {
            long id = ++_next;
            Paths[id] = path;
            return new Token(id);
        }
    }

    private static void OnSignal(PosixSignalContext context)
    {
        int number = context.Signal switch { PosixSignal.SIGINT => 2, PosixSignal.SIGTERM => 15, _ => 1 };
        if (Interlocked.CompareExchange(ref _signal, number, 0) != 0) return; // already ending
        string[] paths;
        lock (Gate)
        {
            paths = [.. Paths.Values.Reverse()];
            Paths.Clear();
        }
        foreach (var p in paths)
        {
            // The interrupted command may still be writing there; a directory that gains an entry meanwhile is retried.
            for (int attempt = 0; attempt < 3; attempt++)
            {
                try
                {
                    if (Directory.Exists(p)) Directory.Delete(p, recursive: true);
                    else File.Delete(p);
                    break;
                }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { break; }
            }
        }
        Console.Error.WriteLine($"appliance: stopped by {context.Signal}; removed {paths.Length} temporary or unfinished path(s)");
        // End here rather than leave it to the runtime's default action: the command's thread would otherwise race on
        // and fail over the deleted files.
        context.Cancel = true;
        Environment.Exit(128 + number);
    }

    private sealed class Token(long id) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Paths.Remove(id);
        }
    }
}
