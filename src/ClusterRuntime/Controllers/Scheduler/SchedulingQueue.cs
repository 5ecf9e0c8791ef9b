// The scheduler's queue: pending pods by priority then age, and a parking area for those that fit nowhere.
namespace Appliance.ClusterRuntime.Controllers.Scheduler;

/// <summary>
/// Upstream's scheduling queue, reduced: an active heap ordered by priority (highest first), then creation time,
/// then arrival; pods that did not fit are <em>parked</em> until something changes (<see cref="MoveAllToActive"/>,
/// after a back-off of 1 s doubling to 10 s per failed attempt) or until they have waited
/// <see cref="MaxParked"/> (<see cref="FlushParked"/>), as upstream's unschedulable pods are.
/// </summary>
public sealed class SchedulingQueue(TimeProvider clock)
{
    /// <summary>Longest a parked pod waits without any change before it is tried again (upstream 5 min).</summary>
    public static readonly TimeSpan MaxParked = TimeSpan.FromMinutes(5);

    static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);
    static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    readonly object _gate = new();
    readonly PriorityQueue<string, (int, long, long)> _active = new();
    readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    readonly Dictionary<string, (int Priority, long Created)> _order = new(StringComparer.Ordinal);
    readonly Dictionary<string, DateTimeOffset> _parked = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _attempts = new(StringComparer.Ordinal);
    readonly SemaphoreSlim _signal = new(0);
    long _arrival;
    long _moveCycle;

    /// <summary>Pods waiting in the active heap.</summary>
    public int ActiveCount { get { lock (_gate) return _queued.Count; } }

    /// <summary>True when <paramref name="key"/> is parked as unschedulable.</summary>
    public bool IsParked(string key) { lock (_gate) return _parked.ContainsKey(key); }

    /// <summary>Queues a pod for scheduling (no-op when it is already queued).</summary>
    public void Add(string key, int priority, DateTimeOffset created)
    {
        lock (_gate)
        {
            _order[key] = (priority, created.UtcTicks);
            _parked.Remove(key);
            if (!Push(key)) return;
        }
        _signal.Release();
    }

    /// <summary>
    /// Parks a pod that fit no node. <paramref name="cycle"/> is what <see cref="PopAsync"/> returned with it: when
    /// something changed while the pod was being tried (a move since then), it is retried after its back-off instead,
    /// since the change may be what it needed.
    /// </summary>
    public void Park(string key, long cycle)
    {
        int attempts;
        lock (_gate)
        {
            if (!_order.ContainsKey(key) || _queued.Contains(key)) return;
            attempts = _attempts[key] = _attempts.GetValueOrDefault(key) + 1;
            if (_moveCycle == cycle)
            {
                _parked[key] = clock.GetUtcNow();
                return;
            }
        }
        Later(key, Backoff(attempts));
    }

    /// <summary>Retries a pod after its back-off (a binding that failed for another reason than a conflict).</summary>
    public void Retry(string key)
    {
        int attempts;
        lock (_gate) attempts = _attempts[key] = _attempts.GetValueOrDefault(key) + 1;
        Later(key, Backoff(attempts));
    }

    /// <summary>Forgets a pod (bound, deleted, or no longer ours).</summary>
    public void Remove(string key)
    {
        lock (_gate)
        {
            _queued.Remove(key);
            _parked.Remove(key);
            _order.Remove(key);
            _attempts.Remove(key);
        }
    }

    /// <summary>Something changed that may let parked pods fit: each is retried once its back-off has passed.</summary>
    public void MoveAllToActive() => Move(_ => true);

    /// <summary>Retries parked pods that waited longer than <see cref="MaxParked"/>.</summary>
    public void FlushParked()
    {
        var now = clock.GetUtcNow();
        Move(since => now - since >= MaxParked);
    }

    void Move(Func<DateTimeOffset, bool> which)
    {
        var now = clock.GetUtcNow();
        List<(string Key, TimeSpan Wait)> moving = [];
        lock (_gate)
        {
            _moveCycle++;
            foreach (var (key, since) in _parked)
                if (which(since)) moving.Add((key, since + Backoff(_attempts.GetValueOrDefault(key, 1)) - now));
            foreach (var (key, _) in moving) _parked.Remove(key);
        }
        foreach (var (key, wait) in moving) Later(key, wait);
    }

    void Later(string key, TimeSpan wait)
    {
        if (wait <= TimeSpan.Zero) { Requeue(key); return; }
        ITimer? timer = null;
        timer = clock.CreateTimer(_ => { Requeue(key); timer?.Dispose(); }, null, wait, Timeout.InfiniteTimeSpan);
    }

    void Requeue(string key)
    {
        lock (_gate)
        {
            if (!_order.ContainsKey(key) || _parked.ContainsKey(key) || !Push(key)) return;
        }
        _signal.Release();
    }

    static TimeSpan Backoff(int attempts) =>
        TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, InitialBackoff.Ticks << Math.Clamp(attempts - 1, 0, 10)));

    bool Push(string key)
    {
        if (!_queued.Add(key)) return false;
        var (priority, created) = _order[key];
        _active.Enqueue(key, (-priority, created, _arrival++));
        return true;
    }

    /// <summary>The next pod to schedule, and the move cycle to hand back to <see cref="Park"/>; waits for one.</summary>
    public async Task<(string Key, long Cycle)> PopAsync(CancellationToken ct)
    {
        while (true)
        {
            await _signal.WaitAsync(ct);
            lock (_gate)
            {
                // Entries of removed or re-added keys stay in the heap; only the one matching _queued counts.
                while (_active.TryDequeue(out var key, out _))
                    if (_queued.Remove(key)) return (key, _moveCycle);
            }
        }
    }
}
