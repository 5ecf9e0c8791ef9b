// Whether the datastore can write right now: set by the writer on a disk-full error, cleared by a probe or a later write.
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Appliance.ClusterRuntime.Datastore.Integrity;

/// <summary>
/// The datastore's readiness as <c>/readyz</c> reports it. A write that fails for lack of space marks it failing;
/// on SQLite it turns healthy again only when <see cref="CheckAsync"/> finds room by writing and fsyncing a probe file of <see cref="ProbeBytes"/> next to
/// the database (at most once a second, only while failing); on PostgreSQL, whose disk is elsewhere, when a later
/// write commits.
/// </summary>
public sealed class DatastoreHealth(string? probeDirectory)
{
    /// <summary>Free space the probe needs before the datastore counts as writable again.</summary>
    public const int ProbeBytes = 1024 * 1024;

    readonly SemaphoreSlim _probing = new(1, 1);
    volatile string? _failure;
    long _lastProbe;

    /// <summary>Why writes fail, or null when they do not.</summary>
    public string? Failure => _failure;

    /// <summary>
    /// Classifies a failed write: a lack of space becomes a <see cref="StorageFullException"/> and marks the store
    /// failing; any other error is returned as it is.
    /// </summary>
    public Exception Observe(Exception e)
    {
        if (!IsStorageFull(e)) return e;
        var full = new StorageFullException($"the datastore cannot write: no space left on its storage ({e.Message.TrimEnd('.')})", e);
        _failure = full.Message;
        return full;
    }

    /// <summary>
    /// A batch that stored rows committed. Where there is a probe directory (SQLite) this proves nothing — a small
    /// commit can fit in space the file already holds while larger writes still fail — so only the probe clears the
    /// mark there; without one (PostgreSQL) the commit is the only sign of recovery.
    /// </summary>
    public void WriteSucceeded()
    {
        if (probeDirectory is null) _failure = null;
    }

    /// <summary>Null when the datastore can write; otherwise why not (after probing for space when it can).</summary>
    public async Task<string?> CheckAsync(TimeProvider time, CancellationToken ct)
    {
        if (_failure is null || probeDirectory is null) return _failure;
        var now = time.GetTimestamp();
        if (time.GetElapsedTime(Interlocked.Read(ref _lastProbe), now) < TimeSpan.FromSeconds(1)) return _failure;
        if (!await _probing.WaitAsync(0, ct).ConfigureAwait(false)) return _failure;
        try
        {
            Interlocked.Exchange(ref _lastProbe, now);
            var probe = Path.Combine(probeDirectory, ".space-probe");
            try
            {
                await using (var f = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
                {
                    await f.WriteAsync(new byte[ProbeBytes], ct).ConfigureAwait(false);
                    f.Flush(flushToDisk: true);
                }
                _failure = null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            finally
            {
                try { File.Delete(probe); } catch (IOException) { }
            }
        }
        finally
        {
            _probing.Release();
        }
        return _failure;
    }

    /// <summary>SQLITE_FULL (13), PostgreSQL disk_full (53100), or ENOSPC from the file system.</summary>
    static bool IsStorageFull(Exception e) => e switch
    {
        SqliteException s => s.SqliteErrorCode == 13,
        PostgresException p => p.SqlState == PostgresErrorCodes.DiskFull,
        IOException io => io.HResult == 28,
        _ => e.InnerException is { } inner && IsStorageFull(inner),
    };
}
