// A work queue of object keys with de-duplication, delayed adds and per-key exponential retry back-off.
using Appliance.ClusterRuntime.Api;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.Machinery;

/// <summary>
/// As client-go's rate-limited work queue: a key queued several times is processed once; a key is never processed
/// by two workers at once (queued again while in progress, it runs again afterwards); a failed key is retried after
/// 50 ms doubled per consecutive failure, up to <see cref="MaxBackoff"/>.
/// </summary>
public sealed class WorkQueue(string name, ILogger logger, TimeProvider? clock = null)
{
    /// <summary>Longest retry delay.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    static readonly TimeSpan BaseBackoff = TimeSpan.FromMilliseconds(50);

    readonly object _gate = new();
    readonly Queue<string> _queue = new();
    readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> _reported = new(StringComparer.Ordinal);
    readonly SemaphoreSlim _signal = new(0);
    readonly TimeProvider _clock = clock ?? TimeProvider.System;
    CancellationToken _token;

    /// <summary>Keys waiting (not counting those in progress or delayed).</summary>
    public int Length { get { lock (_gate) return _queue.Count; } }

    /// <summary>Queues <paramref name="key"/> unless it is already waiting.</summary>
    public void Add(string key)
    {
        lock (_gate)
        {
            if (!_dirty.Add(key)) return;
            if (_processing.Contains(key)) return;
            _queue.Enqueue(key);
        }
        _signal.Release();
    }

    /// <summary>Queues <paramref name="key"/> after <paramref name="delay"/>.</summary>
    public void AddAfter(string key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero) { Add(key); return; }
        if (_token.IsCancellationRequested) return;
        ITimer? timer = null;
        timer = _clock.CreateTimer(_ => { Add(key); timer?.Dispose(); }, null, delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Queues <paramref name="key"/> after its back-off, which doubles with each call until <see cref="Forget"/>.</summary>
    public void AddRateLimited(string key)
    {
        int failures;
        lock (_gate) failures = _failures[key] = _failures.GetValueOrDefault(key) + 1;
        var delay = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, BaseBackoff.Ticks << Math.Min(failures - 1, 20)));
        AddAfter(key, delay);
    }

    /// <summary>Resets the back-off of <paramref name="key"/>.</summary>
    public void Forget(string key)
    {
        lock (_gate)
        {
            _failures.Remove(key);
            _reported.Remove(key);
        }
    }

    /// <summary>
    /// Runs <paramref name="workers"/> workers calling <paramref name="sync"/> per key until <paramref name="ct"/> is
    /// cancelled. A sync that throws is retried with back-off; a 409 Conflict (another writer was first) quietly,
    /// other failures with one warning per distinct message.
    /// </summary>
    public async Task RunAsync(int workers, Func<string, CancellationToken, Task> sync, CancellationToken ct)
    {
        _token = ct;
        var tasks = Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(sync, ct), CancellationToken.None));
        await Task.WhenAll(tasks);
    }

    async Task WorkAsync(Func<string, CancellationToken, Task> sync, CancellationToken ct)
    {
        while (true)
        {
            try { await _signal.WaitAsync(ct); }
            catch (OperationCanceledException) { return; }
            string key;
            lock (_gate)
            {
                if (!_queue.TryDequeue(out key!)) continue;
                _dirty.Remove(key);
                _processing.Add(key);
            }
            try
            {
                await sync(key, ct);
                Forget(key);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (ApiException e) when (e.Code is 409 or 404)
            {
                logger.LogDebug("{Queue} {Key}: {Error}; retrying", name, key, e.Message);
                AddRateLimited(key);
            }
            catch (Exception e)
            {
                bool first;
                lock (_gate) first = !_reported.TryGetValue(key, out var seen) || seen != e.Message;
                if (first)
                {
                    lock (_gate) _reported[key] = e.Message;
                    logger.LogWarning("{Queue} {Key}: {Error}; retrying with back-off", name, key, e.Message);
                }
                logger.LogDebug(e, "{Queue} {Key} failed", name, key);
                AddRateLimited(key);
            }
            finally
            {
                bool again;
                lock (_gate)
                {
                    _processing.Remove(key);
                    again = _dirty.Contains(key);
                    if (again) _queue.Enqueue(key);
                }
                if (again) _signal.Release();
            }
        }
    }
}
